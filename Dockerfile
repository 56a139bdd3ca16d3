# syntax=docker/dockerfile:1
# The trainer image: `trainer` is the entrypoint (train, coordinator, worker, eval, ...).
#
# CPU, wasm and WebGPU workers, and the coordinator (Debian base, the default):
#   docker build -t trainer:0.1.0 .
# GPU workers on tfjs-node-gpu 4.22, which needs CUDA 11.2 and cuDNN 8.1:
#   docker build --build-arg BASE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 -t trainer:0.1.0-cuda .
# Pin the CUDA base by digest (BASE=nvidia/cuda@sha256:<digest>, the digest from
# `docker buildx imagetools inspect nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04`):
# NVIDIA deletes old CUDA tags from Docker Hub, and a digest keeps the image buildable.
#
# GPUs reach the container through the NVIDIA container toolkit (`docker run --gpus all`,
# or the device plugin's nvidia.com/gpu on Kubernetes). WebGPU runs on Vulkan: the
# toolkit mounts the driver's Vulkan ICD only when NVIDIA_DRIVER_CAPABILITIES includes
# `graphics` (set below), and the Vulkan loader (libvulkan1) is installed here. Dawn
# (dawn.node) needs glibc 2.34 or later: the CUDA 11.2 base (Ubuntu 20.04, glibc 2.31)
# cannot load it, so the -cuda image computes on tfjs-node-gpu only; WebGPU workers on
# NVIDIA GPUs use the Debian image (glibc 2.36).
#
# Both stages are built on BASE, so native addons (tfjs-node's binding, when it is
# compiled rather than downloaded) link against the glibc they will run with.
ARG BASE=debian:bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# npm ci installs (tfjs-node and tfjs-node-gpu download libtensorflow here; they are
# optional, so a failed download leaves them out: the worker then says so at start)
# and builds through `prepare`; the pruning drops TypeScript and the other dev tools.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force
COPY configs ./configs

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates libvulkan1 \
  && rm -rf /var/lib/apt/lists/* \
  && (getent passwd 1000 > /dev/null || useradd --uid 1000 --create-home --shell /usr/sbin/nologin trainer)
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=build /app /app
# The code stays root's, so the user the image runs as cannot change it. The defaults write
# under the working folder (run.dir: runs, data.path: data), which were root's too: a plain
# `train -c configs/demo.yaml` failed with EACCES. Those two folders are uid 1000's, and are
# where to mount volumes that keep runs and data past the container.
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/trainer \
  && mkdir -p /app/runs /app/data \
  && chown 1000:1000 /app/runs /app/data
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    TRAINER_CACHE_DIR=/tmp/trainer-cache
WORKDIR /app
USER 1000
ENTRYPOINT ["trainer"]
CMD ["--help"]
