# Application image (Python 3.11, CPU-only torch): the gateway and the action server.
# Rasa has its own image (Dockerfile.rasa).
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# CPU wheel of torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY core core
COPY knowledge knowledge
COPY bot bot
COPY actions actions
COPY teams teams
COPY govbot govbot
COPY nlu nlu
RUN pip install -e .
EXPOSE 8000
CMD ["govbot", "serve", "--host", "0.0.0.0"]
