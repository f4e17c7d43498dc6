"""Pure computation tests of metrics: frames and arrays in, no database."""
