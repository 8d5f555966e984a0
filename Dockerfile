# 9router-smoke: the deploy gate as one image for GitHub Actions, GitLab CI and Jenkins.
#
# No USER (GitHub runs Docker actions as root) and no ENTRYPOINT: GitLab's `image:` and Jenkins'
# `docker.image().inside` start their own command, so `9router-smoke` is simply on PATH. The
# action's entry point is named in action.yml (runs.entrypoint: /usr/local/bin/9router-smoke-action).
# BASE is a build argument so the tests can build on a local Debian base (no registry there).
#
# Two stages: pip and setuptools install the venv in the first and never reach the image; the
# second gets only the venv (our package, its pinned dependencies, their compiled bytecode).
ARG BASE=python:3.12-slim
FROM ${BASE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock /app/requirements.lock
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --requirement /app/requirements.lock

COPY pyproject.toml README.md /app/src/
COPY smoke /app/src/smoke
# The package without touching the pinned dependencies; then the installers leave the venv (pip
# must go last, it uninstalls itself). Everything left is byte-compiled here, once, so no run
# compiles anything (the image sets PYTHONDONTWRITEBYTECODE, and may run as a non-root user).
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /app/src \
    && /opt/venv/bin/pip uninstall --yes --quiet setuptools \
    && /opt/venv/bin/pip uninstall --yes --quiet pip \
    && rm -f /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1 \
    && /opt/venv/bin/python -m compileall -q -j 0 /opt/venv/lib

FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

COPY --from=build /opt/venv /opt/venv
COPY entrypoint.py /app/entrypoint.py
# The action's entry point as a fixed absolute path (GitHub passes it as --entrypoint: one
# executable, no arguments). The launcher is Python, not sh: Debian's sh (dash) drops variables
# like INPUT_BASE-URL whose names have a hyphen.
RUN printf '#!/opt/venv/bin/python\nimport runpy\nrunpy.run_path("/app/entrypoint.py", run_name="__main__")\n' \
        > /usr/local/bin/9router-smoke-action \
    && chmod 0755 /usr/local/bin/9router-smoke-action \
    && 9router-smoke --version

# `docker run IMAGE` alone prints the usage; CI systems pass their own command.
CMD ["9router-smoke", "--help"]
