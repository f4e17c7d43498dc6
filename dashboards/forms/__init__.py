"""The forms of the pages, one module per page family (as dashboards/views/)."""
