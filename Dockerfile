# A cache node image built from this repository.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY metadata ./metadata
COPY storage ./storage
COPY sdk ./sdk
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
# 7480: data protocol; 9480: admin HTTP (/dashboard, /metrics, /healthz, /readyz).
EXPOSE 7480 9480
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["node", "--config", "/app/config/compose-node.json"]
