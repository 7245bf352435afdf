# pmeter as a static binary on a distroless base, for 'pmeter submit kubernetes' (the manifests run
# /pmeter). Build: docker build -t REGISTRY/pmeter:TAG .   (add --build-arg TAGS="gcs azure" for gs://
# and azblob:// run directories; s3:// is always built in).
FROM golang:1.26 AS build
ARG TAGS=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -tags "${TAGS}" -ldflags="-s -w" -o /pmeter ./cmd/pmeter

# distroless/static: no shell, no libc; runs as user 65532 (the manifests require a non-root user).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /pmeter /pmeter
ENTRYPOINT ["/pmeter"]
