# Parley in a container: a static binary on a minimal, non-root base image.
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/data -e PARLEY_PUBLIC_URL=https://comments.example.com parley
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/parley . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /usr/local/bin/parley
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV PARLEY_ADDR=0.0.0.0:8080 \
    PARLEY_DATA=/data/parley.db
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
