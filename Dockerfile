# Parley in a container: a static binary on an empty image, run as a
# non-root user, its database on the /data volume.
#
#   docker build -t parley .
#   docker run -d -p 8080:8080 -v parley-data:/data \
#     -e PARLEY_PUBLIC_URL=https://comments.example.com parley
#
# See docs/operations.md for the settings and for running behind a proxy.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/parley . \
 && mkdir -p /out/data \
 && echo 'parley:x:10001:10001:parley:/data:/parley' > /out/passwd \
 && echo 'parley:x:10001:' > /out/group

FROM scratch
# CA roots, for STARTTLS/TLS to the mail server and https webhooks.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build /out/parley /parley
USER 10001:10001
ENV PARLEY_ADDR=0.0.0.0:8080 \
    PARLEY_DATA=/data/parley.db \
    PARLEY_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
# The image has no shell or curl: the binary checks itself (GET /healthz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["/parley", "healthcheck"]
ENTRYPOINT ["/parley"]
CMD ["serve"]
