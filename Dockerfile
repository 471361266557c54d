# The obligraph image: the CLI (`obligraph serve`, `obligraph worker`, `obligraph build`, ...) and nothing else.
# Wheels are built in a throw-away stage, so the runtime image carries no compiler.
FROM python:3.11-slim AS wheels
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY obligraph/ obligraph/
COPY ontology/ ontology/
COPY kg/ kg/
COPY shapes/ shapes/
COPY api/ api/
COPY ingest/ ingest/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels obligraph && rm -rf /wheels \
    && useradd --create-home --uid 10001 obligraph
USER obligraph
WORKDIR /home/obligraph
EXPOSE 8000
ENTRYPOINT ["obligraph"]
CMD ["serve"]
