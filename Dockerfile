# The service image: TypeScript runs through tsx, so the image is the source plus production dependencies.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY domain ./domain
COPY projections ./projections
COPY adapters ./adapters
# API, gateway HTTP proxy, SOCKS5, gateway health, peer relay (docker-compose.yml publishes the same)
EXPOSE 3000 7000 7001 7080 7002
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
