# ClusterFlux image: one `cflux` binary for the manager (default) and the agent.
#
#   docker build -t clusterflux/cflux:0.1.0 .
#   docker run --rm -p 8000:8000 clusterflux/cflux:0.1.0                 # manager, in-memory store
#   docker run --rm -e NODE_OPTIONS=--max-semi-space-size=1 -e MALLOC_ARENA_MAX=2 \
#     -e MALLOC_MMAP_THRESHOLD_=1048576 -e MALLOC_TRIM_THRESHOLD_=1048576 \
#     clusterflux/cflux:0.1.0 agent --manager http://...:8000
#
# The four variables are the agent's memory settings (docs/agent.md "Memory");
# kubernetes/influxdb.yaml and deploy/systemd/cflux-agent.service set them for
# the agent only, so they are not ENV here (the manager runs from this image too).
#
# Ports: 8000 manager API, 8087 agent proxy (InfluxDB 1.x API), 8888 agent peer API.

# ---------------------------------------------------------------------------
# Build stage: install all dependencies, type-check and bundle the TypeScript
# into dist/ (scripts/bundle.ts: esbuild, one file per part loaded on demand),
# then drop the devDependencies so node_modules can be copied as-is into the
# runtime stage.
# NODE_ENV must NOT be "production" here, or `npm ci` would skip the compiler.
# ---------------------------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app

# Manifests first, so the dependency layer is cached until they change.
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts in the tree are the `node`
# devDependency (it downloads a second Node binary that the image already has),
# a protobufjs version-scheme warning and esbuild's check of its binary (which
# comes from its @esbuild/<platform> optional dependency either way); none is
# needed to build or run.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.ts ./scripts/bundle.ts
COPY bin ./bin
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------
# Runtime stage: Node 24, tini as PID 1, compiled JS and production deps only.
# ---------------------------------------------------------------------------
FROM node:24-slim AS runtime

# tini forwards SIGTERM to node (which handles it: the manager stops accepting,
# answers its long-polls and revokes its etcd lease; the agent drains and
# deregisters) and reaps zombies. Node as PID 1 would ignore default signals.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production
WORKDIR /app

# package.json is needed at runtime: its "type": "module" makes dist/**/*.js ESM.
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist

# The image's own `node` user (uid/gid 1000). Numeric, so Kubernetes'
# runAsNonRoot can verify it without a runAsUser in the pod spec. The app files
# stay owned by root: the process cannot modify its own code.
USER 1000:1000

EXPOSE 8000 8087 8888

ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/bin/cflux.js"]
CMD ["manager"]
