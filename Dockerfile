# The fake bKash (bkash fake) as a container image:
#
#   docker build -t bkash-fake .
#   docker run --rm -p 9090:9090 bkash-fake
#
# It serves bKash's API, the checkout page and the control API (/_bkashtest/)
# on port 9090. Clients outside loopback need plain http allowed:
# bkash.WithAllowHTTP() in Go, --allow-http for the CLI, BKASH_ALLOW_HTTP=1
# for the demo shop. Extra flags go after the image name, e.g.
#   docker run --rm -p 9090:9090 bkash-fake --webhook-url http://host.docker.internal:8080/bkash/ipn

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary: no cgo, so the final image needs no libc.
RUN CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o /out/bkash ./cmd/bkash

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bkash /usr/local/bin/bkash
USER nonroot:nonroot
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/bkash", "fake", "--addr", "0.0.0.0:9090"]
