# One image recipe for the five services. Build from the repository root, naming the service:
#   docker build --build-arg SERVICE=validator -t puffy-validator .
# (docker-compose.yml does this for each service.) SERVICE is the folder under services/: ingestor, validator,
# sessionizer, attribution or monitor.
ARG SERVICE=validator

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG SERVICE
WORKDIR /src
# Only what the service builds from: the build settings, the contracts, the shared libraries, the DDL, the service.
COPY global.json NuGet.config .editorconfig Directory.Build.props Directory.Packages.props ./
COPY contracts/ contracts/
COPY shared/ shared/
COPY infra/clickhouse/ infra/clickhouse/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN test -f services/${SERVICE}/*.csproj || { echo "SERVICE=${SERVICE} is not a folder under services/" >&2; exit 1; }
RUN dotnet restore services/${SERVICE}/*.csproj
RUN dotnet publish services/${SERVICE}/*.csproj -c Release --no-restore -o /app

# The Kafka client's librdkafka comes bundled with the app (librdkafka.redist); no system copy is installed or loaded.
FROM mcr.microsoft.com/dotnet/runtime:10.0
ARG SERVICE
# DOTNET_GCgen0size: the collector's gen-0 budget, 64 MiB (the runtime's default on a small machine is 6 MiB; README,
# "The five services end to end"). Only the environment sets it. `puffy stack` gives its services the same.
ENV PUFFY_SERVICE=${SERVICE} \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_GCgen0size=0x4000000
WORKDIR /app
COPY --from=build /app .
# The .NET images ship an unprivileged user, "app" (uid $APP_UID); the services need no more.
USER $APP_UID
ENTRYPOINT ["/bin/sh", "-c", "exec dotnet \"/app/puffy-${PUFFY_SERVICE}.dll\" \"$@\"", "puffy"]
