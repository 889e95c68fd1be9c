# CPU image: callqa, its dependencies and its packaged models; entry point is the CLI.
# Not built on the development machines (no Docker engine there); kept short and read-checked.
FROM python:3.11-slim

ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    ORT_DISABLE_TELEMETRY=1 \
    CALLQA_HOME=/var/lib/callqa \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
# Everything the wheel is built from: the packages, and the rubrics and models that
# pipeline/bundled links to (the installed package carries them; CI's wheel test proves it).
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY flows ./flows
COPY review ./review
COPY rubrics ./rubrics
COPY models ./models
# CPU-only torch first, so that the pinned torch==2.13.0 never pulls CUDA packages. The
# diarize extra: most centres record mono, which needs diarization for speaker roles.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install ".[diarize]" \
 && python -c "from pipeline.config import get_settings; from pipeline.models.whisper import resolve_model; resolve_model('base', get_settings().model_dir)"

COPY examples ./examples

ENTRYPOINT ["callqa"]
CMD ["--help"]
