# uptake: a release build in one stage, a slim runtime image in the next.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin uptake

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/uptake uptake \
    && mkdir -p /var/lib/uptake/data && chown -R uptake /var/lib/uptake
COPY --from=build /src/target/release/uptake /usr/local/bin/uptake
COPY sample_data /usr/share/uptake/sample_data
USER uptake
WORKDIR /var/lib/uptake
ENV UPTAKE_DATA=/var/lib/uptake/data
VOLUME ["/var/lib/uptake/data"]
ENTRYPOINT ["uptake"]
CMD ["stats"]
