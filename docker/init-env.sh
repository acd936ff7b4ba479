#!/bin/sh
# Writes .env from .env.example with a fresh random value for every empty secret
# (*_PASSWORD, *_SECRET*, AIRFLOW_FERNET_KEY). Never overwrites an existing file.
#   sh docker/init-env.sh [OUT]        (default: .env beside docker-compose.yaml)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-$root/.env}"
if [ -e "$out" ]; then
  echo "$out exists: left unchanged" >&2
  exit 1
fi
hex() { od -An -vtx1 -N "$1" /dev/urandom | tr -d ' \n'; }
fernet() { head -c 32 /dev/urandom | base64 | tr '+/' '-_'; }
umask 077
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    AIRFLOW_FERNET_KEY=) echo "AIRFLOW_FERNET_KEY=$(fernet)" ;;
    *_PASSWORD=|*_SECRET=|*_SECRET_KEY=) echo "$line$(hex 24)" ;;
    *) echo "$line" ;;
  esac
done < "$root/.env.example" > "$out"
echo "$out written (mode 600); review it, then: docker compose up -d"
