# One image for every pmarb process (worker, marketdata, api, migrations); the command chooses.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pmarb ./pmarb
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 pmarb \
    && mkdir -p /data && chown pmarb:pmarb /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER pmarb
ENV PMARB_DATA_DIR=/data \
    PMARB_API_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["pmarb"]
CMD ["worker"]
