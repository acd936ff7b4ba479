#!/bin/bash
# First start of the PostgreSQL volume (docker-entrypoint-initdb.d): the warehouse gets its own
# database and owner, separate from Airflow's metadata database; nobody else may connect to it.
set -euo pipefail
: "${WAREHOUSE_DB_NAME:?}" "${WAREHOUSE_DB_USER:?}" "${WAREHOUSE_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" \
  --dbname "${POSTGRES_DB:-postgres}" \
  -v wh_db="$WAREHOUSE_DB_NAME" -v wh_user="$WAREHOUSE_DB_USER" \
  -v wh_password="$WAREHOUSE_DB_PASSWORD" -v airflow_db="${POSTGRES_DB:-postgres}" <<'SQL'
CREATE ROLE :"wh_user" LOGIN PASSWORD :'wh_password';
CREATE DATABASE :"wh_db" OWNER :"wh_user" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"wh_db" FROM PUBLIC;
GRANT ALL ON DATABASE :"wh_db" TO :"wh_user";
REVOKE CONNECT ON DATABASE :"airflow_db" FROM PUBLIC;
SQL
echo "warehouse database ${WAREHOUSE_DB_NAME} owned by ${WAREHOUSE_DB_USER} created"
