# uptake: a release build in one stage, a slim runtime image in the next.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The dependencies first, built against empty sources: a change of uptake's
# own code rebuilds only uptake (minutes), not DataFusion and typst (about
# half an hour on two cores).
COPY Cargo.toml Cargo.lock rust-toolchain.toml build.rs ./
COPY queries queries
RUN mkdir -p src tests \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs tests/tests.rs \
    && cargo build --release --locked --bin uptake \
    && rm -rf src tests
COPY . .
# Newer than the stubs, so that cargo builds them; symbols stripped (about
# a fifth of the binary).
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin uptake \
    && strip target/release/uptake

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
