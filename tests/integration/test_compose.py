"""docker-compose.yaml checked against the code: settings, connections, images, secrets.

Docker is not needed: the file is parsed with PyYAML (anchors and merge keys included) and
interpolated here the way Compose does, with a .env written by docker/init-env.sh.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from sqlalchemy.engine import make_url
from support import ROOT

from baocao.config import Settings

COMPOSE_TEXT = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
APP = "/opt/baocao"  # where the Dockerfile puts the repository
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|AUTH$|_KEY$")
_VAR = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


# ----- helpers: .env files, Compose interpolation, the parsed file ------------------------
def read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""
    def sub(m: re.Match) -> str:
        if m.group(1):
            return "$"
        name, op, arg = m.group(2) or m.group(5), m.group(3), m.group(4)
        value = env.get(name)
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise KeyError(f"{name}: {arg}")
        if value is None:
            raise KeyError(f"{name} is not set")
        return value

    return _VAR.sub(sub, text)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


RAW = yaml.safe_load(COMPOSE_TEXT)
SERVICES_RAW: dict[str, dict] = RAW["services"]


@pytest.fixture(scope="module")
def dotenv(tmp_path_factory) -> dict[str, str]:
    """A .env as an operator gets it: ``sh docker/init-env.sh`` (random secrets)."""
    out = tmp_path_factory.mktemp("env") / ".env"
    done = subprocess.run(["sh", str(ROOT / "docker" / "init-env.sh"), str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return read_env(out)


@pytest.fixture(scope="module")
def compose(dotenv) -> dict:
    return resolve(RAW, dotenv)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def airflow_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items()
            if str(s.get("image", "")).startswith("baocao-airflow:")}


def mounts(service: dict) -> dict[str, str]:
    """Mount target -> source of a service's volumes (short syntax)."""
    out = {}
    for v in service.get("volumes", []):
        source, target = v.split(":")[:2]
        out[target] = source
    return out


def depends(service: dict) -> dict[str, dict]:
    dep = service.get("depends_on", {})
    return {d: {"condition": "service_started"} for d in dep} if isinstance(dep, list) else dep


# ----- .env.example and docker/init-env.sh -------------------------------------------------
def test_env_example_defines_exactly_the_variables_the_compose_file_uses():
    used = {m.group(2) or m.group(5) for m in _VAR.finditer(COMPOSE_TEXT) if not m.group(1)}
    example = read_env(ROOT / ".env.example")
    assert used - set(example) == set(), "used in docker-compose.yaml, missing in .env.example"
    assert set(example) - used == set(), "in .env.example, unused by docker-compose.yaml"


def test_env_example_commits_no_secret_and_git_ignores_env():
    example = read_env(ROOT / ".env.example")
    secrets = [k for k in example if SECRET_NAME.search(k)]
    assert len(secrets) >= 8
    assert {k: example[k] for k in secrets if example[k]} == {}
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_init_env_generates_every_secret_once(tmp_path):
    out = tmp_path / ".env"
    script = ["sh", str(ROOT / "docker" / "init-env.sh"), str(out)]
    assert subprocess.run(script, capture_output=True, timeout=60).returncode == 0
    env, example = read_env(out), read_env(ROOT / ".env.example")
    assert list(env) == list(example)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for key, value in env.items():
        if SECRET_NAME.search(key):
            assert value and value != example[key], key
            if key != "AIRFLOW_FERNET_KEY":
                assert re.fullmatch(r"[0-9a-f]{48}", value), key  # safe in URLs and JSON
        else:
            assert value == example[key], key
    from cryptography.fernet import Fernet

    Fernet(env["AIRFLOW_FERNET_KEY"].encode())  # raises on a malformed key
    assert len({env[k] for k in env if SECRET_NAME.search(k)}) == \
        len([k for k in env if SECRET_NAME.search(k)])
    before = out.read_text()
    again = subprocess.run(script, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "left unchanged" in again.stderr
    assert out.read_text() == before


def test_missing_secret_stops_compose(dotenv):
    env = {k: v for k, v in dotenv.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        resolve(RAW, env)


# ----- the pipeline's settings and connections ----------------------------------------------
def test_every_setting_is_set_for_every_airflow_service(compose):
    services = airflow_services(compose)
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "airflow-init"} <= set(services)
    own_data = package_data_fields()
    for name, service in services.items():
        env = env_of(service)
        missing = [f"BAOCAO_{f.upper()}" for f in Settings.model_fields
                   if f"BAOCAO_{f.upper()}" not in env and f not in own_data]
        assert missing == [], f"{name} lacks {missing}"
        values = {f: env.get(f"BAOCAO_{f.upper()}", "") for f in Settings.model_fields}
        settings = Settings(**{k: v for k, v in values.items() if v})  # types check
        for field, info in Settings.model_fields.items():
            if field in own_data and not values[field]:
                continue  # the data installed with the package: the Dockerfile checks it
            if info.annotation is Path or Path in get_args(info.annotation):
                _check_path_in_image(getattr(settings, field), service, field)
            elif info.default not in ("", None):
                assert values[field], f"{name}: BAOCAO_{field.upper()} is empty"


def package_data_fields() -> set[str]:
    """The settings naming the package's own data: include_dir and the folders in it."""
    defaults = Settings()
    out = {f for f in Settings.model_fields if isinstance(getattr(defaults, f), Path)
           and getattr(defaults, f).is_relative_to(defaults.include_dir)}
    assert out == {"include_dir", "programmes_dir", "templates_dir", "sql_dir"}
    return out


def test_the_package_data_is_the_installed_one_unless_on_a_volume(compose):
    """Unset in the compose file, so the wheel's copy in the image is used (a path of the
    build context, like the former /opt/baocao/include, is no longer in the image)."""
    for name, service in airflow_services(compose).items():
        env = env_of(service)
        for field in package_data_fields():
            value = env.get(f"BAOCAO_{field.upper()}")
            if value:
                assert any(value == t or value.startswith(t + "/") for t in mounts(service)), \
                    f"{name}: BAOCAO_{field.upper()}={value} is not on a mounted volume"


def _check_path_in_image(path: Path, service: dict, field: str) -> None:
    """A path setting lies in the code copied by the Dockerfile or on a mounted volume."""
    text = str(path)
    if text.startswith(APP + "/"):
        rel = Path(text[len(APP) + 1:])
        assert (ROOT / rel).exists(), f"{field}: {rel} is not in the repository"
        assert re.search(rf"^COPY\b.*\s{rel.parts[0]}\s+{APP}/{rel.parts[0]}\s*$",
                         DOCKERFILE, re.M), f"{field}: the Dockerfile does not copy {rel}"
    else:
        assert any(text == t or text.startswith(t + "/") for t in mounts(service)), \
            f"{field}: {text} is neither in {APP} nor on a volume"


def _connection(env: dict[str, str], conn_id: str):
    from airflow.models.connection import Connection

    key = f"AIRFLOW_CONN_{conn_id.upper()}"
    assert key in env, f"connection {conn_id} named by the settings is not defined ({key})"
    return Connection.from_json(env[key], conn_id=conn_id)


def test_connections_named_by_the_settings_are_defined(compose):
    conn_fields = [f for f in Settings.model_fields if f.endswith("_conn_id")]
    assert "bucket_conn_id" in conn_fields
    minio_ports = {p.split(":")[-1] for p in compose["services"]["minio"]["ports"]}
    for name, service in airflow_services(compose).items():
        env = env_of(service)
        for field in conn_fields:
            conn = _connection(env, env[f"BAOCAO_{field.upper()}"])
            if conn.conn_type == "aws":
                endpoint = conn.extra_dejson["endpoint_url"]
                assert re.fullmatch(r"http://minio:(\d+)", endpoint), endpoint
                assert endpoint.rsplit(":", 1)[1] in minio_ports
                assert conn.login and conn.password
            elif conn.conn_type == "smtp":
                _check_smtp(conn, compose)
            else:
                pytest.fail(f"{name}: {field} is a {conn.conn_type} connection")
        # e-mail goes through Mailpit even if no setting names the connection
        smtp = [k for k, v in env.items() if k.startswith("AIRFLOW_CONN_")
                and json.loads(v)["conn_type"] == "smtp"]
        assert smtp, f"{name} has no SMTP connection"
        for key in smtp:
            _check_smtp(_connection(env, key.removeprefix("AIRFLOW_CONN_").lower()), compose)


def _check_smtp(conn, compose: dict) -> None:
    assert conn.host in compose["services"], conn.host
    assert compose["services"][conn.host]["image"].startswith("axllent/mailpit:")
    assert conn.port == 1025
    assert conn.extra_dejson.get("disable_tls") and conn.extra_dejson.get("disable_ssl")
    assert conn.extra_dejson.get("from_email")


def test_pipeline_credentials_are_those_minio_init_creates(compose, dotenv):
    env = env_of(compose["services"]["airflow-scheduler"])
    conn = _connection(env, env["BAOCAO_BUCKET_CONN_ID"])
    init = env_of(compose["services"]["minio-init"])
    assert (conn.login, conn.password) == (init["MINIO_PIPELINE_USER"],
                                           init["MINIO_PIPELINE_PASSWORD"])
    assert (conn.login, conn.password) != (init["MINIO_ROOT_USER"], init["MINIO_ROOT_PASSWORD"])
    assert env["BAOCAO_BUCKET_URL"] == f"s3://{init['INTAKE_BUCKET']}"
    assert env["BAOCAO_OUTBOX_URL"] == f"s3://{init['OUTBOX_BUCKET']}"
    assert init["INTAKE_BUCKET"] != init["OUTBOX_BUCKET"]
    assert mounts(compose["services"]["minio-init"])["/init/init.sh"] == "./docker/minio/init.sh"


def test_minio_init_script_creates_buckets_and_a_confined_pipeline_user(compose, tmp_path):
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.policy_validation import IAMPolicyDocumentValidator

    bin_dir, log = tmp_path / "bin", tmp_path / "mc.log"
    bin_dir.mkdir()
    (bin_dir / "mc").write_text(f"""#!/bin/sh
echo "$*" >> {log}
case "$1 $2 $3" in
  "admin policy create") cp "$6" {tmp_path}/policy.json ;;
  "admin user info") echo "PolicyName: baocao-pipeline" ;;
esac
""")
    (bin_dir / "mc").chmod(0o755)
    init = env_of(compose["services"]["minio-init"])
    env = {**init, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    done = subprocess.run(["sh", str(ROOT / "docker" / "minio" / "init.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    intake, outbox = init["INTAKE_BUCKET"], init["OUTBOX_BUCKET"]
    assert f"mb --ignore-existing baocao/{intake} baocao/{outbox}" in calls
    assert f"admin user add baocao {init['MINIO_PIPELINE_USER']} " \
           f"{init['MINIO_PIPELINE_PASSWORD']}" in calls
    text = (tmp_path / "policy.json").read_text()
    IAMPolicyDocumentValidator(text).validate()
    policy = IAMPolicy(text)
    for bucket, allowed in ((intake, True), (outbox, True), ("other-bucket", False)):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            result = policy.is_action_permitted(action, f"arn:aws:s3:::{bucket}/inbox/X/a.xlsx")
            assert (result == PermissionResult.PERMITTED) is allowed, (bucket, action)
    assert policy.is_action_permitted("s3:DeleteBucket", f"arn:aws:s3:::{intake}") != \
        PermissionResult.PERMITTED


def test_warehouse_and_airflow_metadata_are_separate_postgres_databases(compose):
    env = env_of(compose["services"]["airflow-scheduler"])
    pg = env_of(compose["services"]["postgres"])
    warehouse = make_url(env["BAOCAO_WAREHOUSE_URL"])
    metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert warehouse.drivername == "postgresql+psycopg" and warehouse.host == "postgres"
    assert (warehouse.database, warehouse.username, warehouse.password) == (
        pg["WAREHOUSE_DB_NAME"], pg["WAREHOUSE_DB_USER"], pg["WAREHOUSE_DB_PASSWORD"])
    assert (metadata.host, metadata.database, metadata.username, metadata.password) == (
        "postgres", pg["POSTGRES_DB"], pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert warehouse.database != metadata.database
    assert warehouse.username != metadata.username
    init = mounts(compose["services"]["postgres"])
    script = [s for t, s in init.items() if t.startswith("/docker-entrypoint-initdb.d/")]
    assert script == ["./docker/postgres/init-warehouse.sh"]
    assert os.access(ROOT / script[0], os.X_OK)


@pytest.mark.postgres
def test_init_warehouse_script_creates_the_separate_database(compose):
    """docker/postgres/init-warehouse.sh run against the local PostgreSQL (scratch names)."""
    import psycopg
    from support import PG_BASE, postgres_problem

    if problem := postgres_problem():
        pytest.fail(f"PostgreSQL is required by this test and is not reachable: {problem}")
    base = make_url(PG_BASE)
    tag = uuid.uuid4().hex[:8]
    names = {"WAREHOUSE_DB_NAME": f"wh_probe_{tag}", "WAREHOUSE_DB_USER": f"wh_user_{tag}",
             "WAREHOUSE_DB_PASSWORD": uuid.uuid4().hex, "POSTGRES_DB": f"af_probe_{tag}"}
    admin = f"host={base.host} port={base.port or 5432} user={base.username} dbname={base.database}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{names["POSTGRES_DB"]}"')
    try:
        env = {**os.environ, **names, "POSTGRES_USER": base.username, "PGHOST": base.host,
               "PGPORT": str(base.port or 5432)}
        done = subprocess.run(["bash", str(ROOT / "docker" / "postgres" / "init-warehouse.sh")],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        with psycopg.connect(admin, autocommit=True) as conn:
            rows = dict(conn.execute(
                "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r "
                "ON r.oid = d.datdba WHERE d.datname = %s", (names["WAREHOUSE_DB_NAME"],)))
            assert rows == {names["WAREHOUSE_DB_NAME"]: names["WAREHOUSE_DB_USER"]}
            for db in (names["WAREHOUSE_DB_NAME"], names["POSTGRES_DB"]):
                public = conn.execute("SELECT has_database_privilege('public', %s, 'CONNECT')",
                                      (db,)).fetchone()[0]
                assert public is False, db
            owner = conn.execute("SELECT has_database_privilege(%s, %s, 'CREATE')",
                                 (names["WAREHOUSE_DB_USER"],
                                  names["WAREHOUSE_DB_NAME"])).fetchone()[0]
            assert owner is True
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for db in (names["WAREHOUSE_DB_NAME"], names["POSTGRES_DB"]):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'DROP ROLE IF EXISTS "{names["WAREHOUSE_DB_USER"]}"')


# ----- images, health, volumes, profiles ----------------------------------------------------
def test_images_are_pinned_and_the_airflow_image_matches_requirements(compose, dotenv):
    for name, service in compose["services"].items():
        image = service.get("image", "")
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image}"
    built = {s["image"] for s in compose["services"].values() if "build" in s}
    assert built == {f"baocao-airflow:{dotenv['BAOCAO_IMAGE_TAG']}"}
    base = re.search(r"^FROM apache/airflow:(\d+\.\d+\.\d+)-python(\d+\.\d+)\s*$",
                     DOCKERFILE, re.M)
    assert base, "the Dockerfile's base image is not a pinned apache/airflow tag"
    pins = dict(line.split("==") for line in
                (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert base.group(1) == pins["apache-airflow"]
    assert f">={base.group(2)}" in (ROOT / "pyproject.toml").read_text()
    # the wheel's build stage and the image start from the same image
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.M)
    assert len(froms) == 2 and set(froms) == {f"apache/airflow:{base.group(1)}-python"
                                               f"{base.group(2)}"}, froms


def _dockerfile_commands() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_image_installs_the_wheel_with_runtime_dependencies_only():
    """One pip install: Airflow at the image's version, the lock as constraints (not as
    requirements: the test and dev tools it pins stay out), the wheel with [airflow,celery]."""
    installs = [c for c in _dockerfile_commands() if re.search(r"\bpip install\b", c)]
    assert len(installs) == 1, installs
    line = installs[0]
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in line
    assert f"--constraint {APP}/requirements.txt" in line
    assert f"requirements.txt {APP}/requirements.txt" in " ".join(
        c for c in _dockerfile_commands() if c.startswith("COPY"))
    assert not re.search(r"\s(-r|--requirement|-e|--editable)\s", line), line
    wheel = re.search(r"baocao-\*\.whl\)?\[([\w,]+)\]", line)
    assert wheel, line
    assert set(wheel.group(1).split(",")) == {"airflow", "celery"}
    # the wheel is built in its own stage from the package and include/ (its data files)
    build = [c for c in _dockerfile_commands() if "pip wheel" in c]
    assert len(build) == 1 and "--no-deps" in build[0]
    for source in ("pyproject.toml", "plugins/baocao", "include"):
        assert re.search(rf"^COPY\b.*\s{re.escape(source)}\s", DOCKERFILE, re.M), source


def test_runtime_dependencies_do_not_reach_test_or_dev_tools():
    """What the image installs (the package's dependencies and its extras airflow and
    celery, followed through the installed distributions' metadata) holds no test tool."""
    import importlib.metadata as md
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    tools = {canonicalize_name(Requirement(r).name) for r in extras["test"] + extras["dev"]}
    assert {"pytest", "moto", "ruff", "aiosmtpd"} <= tools
    todo = [Requirement(r) for r in project["dependencies"] + extras["airflow"] +
            extras["celery"]]
    seen: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen and set(req.extras) <= seen[name]:
            continue
        seen.setdefault(name, set()).update(req.extras)
        for text in md.requires(req.name) or []:  # installed: the lock's versions
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e})
                                         for e in seen[name] or {""}):
                todo.append(dep)
    assert {"apache-airflow", "great-expectations", "s3fs", "celery"} <= set(seen)
    # libraries the tests import that the runtime needs anyway (boto3 for S3, httpx for
    # Airflow's API, redis for Celery, setuptools for the Amazon provider, …)
    shared = {"boto3", "httpx", "redis", "beautifulsoup4", "setuptools"}
    assert (set(seen) & tools) - shared == set(), "the image would install test or dev tools"
    pins = {canonicalize_name(line.split("==")[0]) for line in
            (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert set(seen) - pins - {"baocao"} == set(), "runtime dependencies missing in the lock"


def test_dags_and_plugins_folders_are_the_ones_in_the_image(compose):
    for name, service in airflow_services(compose).items():
        env = env_of(service)
        for key, folder in (("AIRFLOW__CORE__DAGS_FOLDER", "dags"),
                            ("AIRFLOW__CORE__PLUGINS_FOLDER", "plugins")):
            assert env[key] == f"{APP}/{folder}", name
    assert re.search(rf"^COPY\b.*\sdags\s+{APP}/dags\s*$", DOCKERFILE, re.M)
    # the plugins folder holds Airflow's plug-in modules; the package is the installed wheel
    modules = sorted(p.name for p in (ROOT / "plugins").glob("*.py"))
    assert modules
    for module in modules:
        assert re.search(rf"^COPY\b.*\splugins/{module}\s+{APP}/plugins/\s*$", DOCKERFILE,
                         re.M), module
    assert not re.search(rf"^COPY\b.*\splugins\s+{APP}/plugins\s*$", DOCKERFILE, re.M)


def test_healthchecks_guard_every_long_running_service(compose):
    services = compose["services"]
    for name in ("postgres", "minio", "redis", "mailpit", "airflow-apiserver",
                 "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-worker"):
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert "/api/v2/" in " ".join(services["airflow-apiserver"]["healthcheck"]["test"])
    for name, service in services.items():
        for dep, spec in depends(service).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"
            if spec["condition"] == "service_completed_successfully":
                assert "restart" not in services[dep], f"{dep} must be a one-off"


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("minio", "/data"),
                         ("mailpit", "/data")):
        assert mounts(compose["services"][name])[target] in declared, name
    used = {src for s in compose["services"].values() for src in mounts(s).values()
            if not src.startswith((".", "/"))}
    assert used == declared


def test_celery_profile_and_executor_switch(dotenv):
    assert dotenv["AIRFLOW_EXECUTOR"] == "LocalExecutor"
    local = resolve(RAW, dotenv)
    celery = resolve(RAW, {**dotenv, "AIRFLOW_EXECUTOR": "CeleryExecutor"})
    for compose, executor in ((local, "LocalExecutor"), (celery, "CeleryExecutor")):
        for name, service in airflow_services(compose).items():
            assert env_of(service)["AIRFLOW__CORE__EXECUTOR"] == executor, name
    services = celery["services"]
    assert services["redis"]["profiles"] == ["celery"]
    worker = services["airflow-worker"]
    assert worker["profiles"] == ["celery"] and worker["command"] == "celery worker"
    assert "container_name" not in worker and "ports" not in worker  # --scale works
    assert depends(worker)["redis"]["condition"] == "service_healthy"
    env = env_of(worker)
    broker = make_url(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.host, broker.port) == ("redis", 6379)
    assert broker.password == services["redis"]["environment"]["REDISCLI_AUTH"]
    assert broker.password in services["redis"]["command"]
    assert make_url(env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")).host == \
        "postgres"
    # without the profile nothing may require a profiled service
    for name, service in services.items():
        if "profiles" in service:
            continue
        for dep, spec in depends(service).items():
            if "profiles" in services[dep]:
                assert spec.get("required") is False, f"{name} requires profiled {dep}"


def test_airflow_services_follow_the_reference_layout(compose):
    assert re.search(r"^x-airflow-common:\s*\n\s*&airflow-common", COMPOSE_TEXT, re.M)
    services = compose["services"]
    commands = {services[n]["command"] for n in airflow_services(compose)
                if isinstance(services[n].get("command"), str)}
    assert {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker"} <= commands
    env = env_of(services["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        "http://airflow-apiserver:8080/execution/"
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
                "AIRFLOW__API__SECRET_KEY"):
        assert env[key], key
    ports = {n: [p.split(":")[0] for p in s.get("ports", [])] for n, s in services.items()}
    assert "8080" in ports["airflow-apiserver"] and "9001" in ports["minio"]
    assert "8025" in ports["mailpit"]
    for name in airflow_services(compose):
        if name not in ("airflow-init", "airflow-cli"):
            assert depends(services[name])["airflow-init"]["condition"] == \
                "service_completed_successfully", name


def test_init_job_migrates_and_sets_the_admin_password(compose, tmp_path):
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    assert "airflow db migrate" in script
    # the warehouse's migrations and the units of every active programme (BAOCAO_PROGRAMMES)
    assert re.search(r"^\s*baocao migrate\s*$", script, re.M)
    assert env_of(init)["BAOCAO_PROGRAMMES"]
    env = env_of(init)
    pw_file = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    users = [u.split(":")[0] for u in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")]
    for name, service in airflow_services(compose).items():  # any component may read it
        assert os.path.dirname(pw_file) in mounts(service), name
    # the one-liner that writes the password file, run here with a hostile password
    line = next(x for x in script.splitlines() if x.strip().startswith("python -c"))
    code = re.search(r"python -c '([^']+)'", line).group(1)
    hostile = 'p"a\\ss wörd'
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "AIRFLOW_ADMIN_PASSWORD": hostile}, timeout=30)
    assert json.loads(out.stdout) == {"admin": hostile}
    assert users == ["admin"]


def test_no_secret_is_written_in_the_compose_file():
    def raw_envs():
        for name, service in SERVICES_RAW.items():
            yield name, env_of(service)

    for name, env in raw_envs():
        for key, value in env.items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{\w+(:?[-?][^}]*)?\}", value), f"{name}: {key}"
            for m in re.finditer(r"://([^:/@\s]*):([^@\s]*)@", value):
                assert m.group(2) == "" or re.fullmatch(r"\$\{\w+[^}]*\}", m.group(2)), \
                    f"{name}: {key} has a literal password"
            if key.startswith("AIRFLOW_CONN_"):
                conn = json.loads(value)
                for part in ("login", "password"):
                    if part in conn:
                        assert re.fullmatch(r"\$\{\w+[^}]*\}", conn[part]), f"{key}.{part}"
    redis_cmd = SERVICES_RAW["redis"]["command"]
    assert re.fullmatch(r"\$\{REDIS_PASSWORD[^}]*\}", redis_cmd[redis_cmd.index(
        "--requirepass") + 1])


def test_backup_one_off_dumps_the_warehouse(compose):
    backup = compose["services"]["warehouse-backup"]
    assert backup["profiles"] == ["backup"]
    env, pg = env_of(backup), env_of(compose["services"]["postgres"])
    assert (env["PGHOST"], env["PGDATABASE"], env["PGUSER"], env["PGPASSWORD"]) == (
        "postgres", pg["WAREHOUSE_DB_NAME"], pg["WAREHOUSE_DB_USER"],
        pg["WAREHOUSE_DB_PASSWORD"])
    assert "pg_dump --format=custom" in " ".join(backup["command"])
    assert backup["image"] == compose["services"]["postgres"]["image"]  # same pg_dump major
