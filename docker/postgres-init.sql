-- Runs once, as the postgres superuser, when the data volume is first initialised.
-- The app must NEVER connect as a superuser or BYPASSRLS role: tenant isolation relies on FORCE ROW LEVEL SECURITY, which such roles bypass.
CREATE ROLE csplatform WITH LOGIN PASSWORD 'csplatform' NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE;

-- The application role owns its database (and therefore the public schema on PostgreSQL 15+).
CREATE DATABASE csplatform OWNER csplatform;
