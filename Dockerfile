# syntax=docker/dockerfile:1
# Build stage: compile TypeScript and the native SQLite addon.
# Node 22 LTS (Node 20 reached its end of life in April 2026); CI runs the
# SQLite suite on Node 22 as well as on the machines' Node 20.
FROM node:22-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

# Runtime stage: only what runs, as a non-root user. The code stays root's
# and read-only to that user (a hole in the app cannot rewrite it); only
# DATA_DIR and the upload folder are the app's to write.
FROM node:22-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data \
    DATABASE_URL=sqlite:/app/data/coursework.sqlite \
    SCHEDULER_LOCK_FILE=/tmp/coursework-scheduler.lock
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json start.sh ./
COPY scripts ./scripts
COPY views ./views
COPY locales ./locales
# /app/uploads exists so a volume mounted there (UPLOAD_DIR) starts owned by node.
RUN mkdir -p /app/data /app/uploads && chown node:node /app/data /app/uploads && chmod 700 /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# start.sh clears a stale lock, migrates, then execs node: signals reach the primary.
ENTRYPOINT ["./start.sh"]
