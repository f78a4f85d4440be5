# syntax=docker/dockerfile:1
# `mlconf serve` for one exported model bundle (`mlconf models export NAME:VERSION DIR`).
#
# The build context is the mlconf source tree (mlconf is installed from it); the bundle
# comes in as a second, named build context, so it may live anywhere:
#
#   mlconf models export cars:3 /tmp/cars-3
#   docker build -f docker/serve.Dockerfile --build-context bundle=/tmp/cars-3 -t cars-serve .
#   docker run --rm -p 8000:8000 cars-serve
#   docker run --rm -p 8000:8000 -e MLCONF_WORKERS=2 -v cars-log:/srv/data cars-serve
#
# The bundle's requirements.txt pins the libraries the model was exported with; the
# prediction log is a SQLite file under /srv/data (mount a volume to keep it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MLCONF_WORKERS=1 MLCONF_REGISTRY_URL=sqlite:////srv/data/mlconf.db

# The pinned libraries first (a layer that changes only with the bundle's pins).
COPY --from=bundle requirements.txt /tmp/requirements.txt
RUN grep -v -i -E '^(mlconf|#)' /tmp/requirements.txt > /tmp/pins.txt \
    && pip install -r /tmp/pins.txt

# mlconf itself, from this source tree, without touching the pins above.
COPY pyproject.toml README.md /src/
COPY mlconf /src/mlconf
COPY hydra_plugins /src/hydra_plugins
COPY conf /src/conf
RUN pip install --no-deps /src && rm -rf /src

COPY --from=bundle . /srv/bundle
RUN useradd --create-home --uid 10001 mlconf && mkdir -p /srv/data \
    && chown mlconf /srv/data
USER mlconf
WORKDIR /srv/data
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready')"

CMD ["sh", "-c", "exec mlconf serve model=/srv/bundle/model host=0.0.0.0 port=8000 reload_interval=null workers=${MLCONF_WORKERS} registry_url=${MLCONF_REGISTRY_URL}"]
