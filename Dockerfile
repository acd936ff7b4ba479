# The pipeline's image: the official Airflow image, this repository's exact pins and the
# package (DAGs, plugins, programmes, templates) under /opt/baocao. Built by docker-compose.yaml.
FROM apache/airflow:3.3.2-python3.11

ENV BAOCAO_HOME=/opt/baocao \
    GX_ANALYTICS_ENABLED=False \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

USER root
RUN install -d -o airflow -g 0 -m 775 /opt/baocao
USER airflow

# The exact pins of requirements.txt, with Airflow held at the image's own version
# (AIRFLOW_VERSION is set by the base image), as Airflow's docker-stack docs advise.
COPY --chown=airflow:0 requirements.txt /opt/baocao/requirements.txt
RUN pip install "apache-airflow==${AIRFLOW_VERSION}" -r /opt/baocao/requirements.txt

# The package, editable: baocao.config finds include/ next to plugins/ (REPO = /opt/baocao).
COPY --chown=airflow:0 pyproject.toml README.md /opt/baocao/
COPY --chown=airflow:0 plugins /opt/baocao/plugins
COPY --chown=airflow:0 include /opt/baocao/include
COPY --chown=airflow:0 dags /opt/baocao/dags
RUN pip install --no-deps -e /opt/baocao \
 && python -c "import baocao.config as c; assert str(c.REPO) == '/opt/baocao', c.REPO" \
 && baocao programme check /opt/baocao/include/programmes/lang-son.yaml
