# The pipeline's image: the official Airflow image plus the baocao wheel with its runtime
# dependencies only (no pytest, moto, ruff), the DAG files under /opt/baocao/dags and the
# Airflow plug-in under /opt/baocao/plugins. Built by docker-compose.yaml.

# Stage 1: the wheel, built from pyproject.toml, plugins/baocao and include/ (the wheel
# carries include/ as <prefix>/share/baocao/include, where baocao.config finds it).
FROM apache/airflow:3.3.2-python3.11 AS wheel
COPY pyproject.toml README.md /src/baocao/
COPY plugins/baocao /src/baocao/plugins/baocao
COPY include /src/baocao/include
# from a copy the airflow user owns: setuptools writes build/ and *.egg-info beside the sources
RUN cp -r /src/baocao /tmp/baocao \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist /tmp/baocao

# Stage 2: the image.
FROM apache/airflow:3.3.2-python3.11

ENV GX_ANALYTICS_ENABLED=False \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

USER root
RUN install -d -o airflow -g 0 -m 775 /opt/baocao
USER airflow

# The wheel with the extras the image runs (providers for S3 and SMTP, Celery), Airflow held
# at the image's own version (AIRFLOW_VERSION is set by the base image) as Airflow's
# docker-stack docs advise, and every version held at the pin of requirements.txt, the lock
# the tests ran on, used as constraints: the test and dev tools it also pins are not installed.
COPY --chown=airflow:0 requirements.txt /opt/baocao/requirements.txt
COPY --from=wheel --chown=airflow:0 /tmp/dist/ /opt/baocao/dist/
RUN pip install "apache-airflow==${AIRFLOW_VERSION}" --constraint /opt/baocao/requirements.txt \
      "$(ls /opt/baocao/dist/baocao-*.whl)[airflow,celery]"

# What Airflow loads from folders: the DAG files and the status page's plug-in. The package
# itself is the installed wheel (AIRFLOW__CORE__*_FOLDER in docker-compose.yaml).
COPY --chown=airflow:0 dags /opt/baocao/dags
COPY --chown=airflow:0 plugins/baocao_status_plugin.py /opt/baocao/plugins/

# The installed package finds its own data, from anywhere (not from /opt/baocao).
WORKDIR /tmp
RUN python -c "import baocao, baocao.config as c; s = c.settings(); \
assert c.REPO is None and '/opt/baocao' not in baocao.__file__, baocao.__file__; \
assert all(p.is_dir() for p in (s.programmes_dir, s.templates_dir, s.sql_dir)), s" \
 && baocao programme check "$(python -c 'from baocao.config import settings; print(settings().programmes_dir)')/lang-son.yaml"
WORKDIR /opt/airflow
