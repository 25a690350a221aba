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
COPY dashboards /usr/share/uptake/dashboards
COPY reports /usr/share/uptake/reports
USER uptake
WORKDIR /var/lib/uptake
ENV UPTAKE_DATA=/var/lib/uptake/data \
    UPTAKE_DASHBOARDS=/usr/share/uptake/dashboards \
    UPTAKE_REPORTS=/usr/share/uptake/reports \
    UPTAKE_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/uptake/data"]
EXPOSE 8080
ENTRYPOINT ["uptake"]
CMD ["serve"]
