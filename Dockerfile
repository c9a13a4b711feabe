# One image for every Sluice service; docker-compose.yml picks the service by command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV COREPACK_INTEGRITY_KEYS=0
RUN corepack enable
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build && pnpm prune --prod

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
CMD ["node", "apps/cli/dist/main.js", "--help"]
