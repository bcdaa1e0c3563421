using System.Diagnostics;
using Puffy.Streaming.Cli;
using YamlDotNet.RepresentationModel;

namespace Puffy.Streaming.IntegrationTests.Deployment;

/// <summary>
/// docker-compose.yml cannot be started here (no Docker engine), so its promises are checked on what docker-compose
/// itself makes of it (`docker-compose config`: anchors and merges resolved, ports in long form). docker-compose comes
/// from infra/install-servers.sh.
/// </summary>
public sealed class ComposeFileTests
{
    private static readonly string[] Services = ["ingestor", "validator", "sessionizer", "attribution", "monitor"];
    private static readonly string[] IgnoredInBuildContext = ["**/bin/", "**/obj/", "**/out/", ".puffy/", ".git/", "**/TestResults/"];
    private static readonly string[] RootUsers = ["root", "0", "0:0"];

    private static string Root => LocalStack.RepoRoot();

    [Fact]
    public async Task Config_ComposeFile_IsValid()
    {
        var (exit, _, stderr) = await DockerComposeAsync("config", "-q");

        Assert.True(exit == 0, $"docker-compose config -q failed ({exit}): {stderr}");
    }

    [Fact]
    public async Task Config_EveryPublishedPort_BindsLoopbackOnly()
    {
        var services = await ResolvedServicesAsync();

        var ports = services
            .Where(s => s.Value is YamlMappingNode m && m.Children.ContainsKey("ports"))
            .SelectMany(s => ((YamlSequenceNode)((YamlMappingNode)s.Value)["ports"]).Select(p => (Service: ((YamlScalarNode)s.Key).Value, Port: p)))
            .ToList();

        Assert.NotEmpty(ports);
        foreach (var (service, port) in ports)
        {
            // docker-compose 1.x prints "127.0.0.1:8123:8123/tcp"; the long syntax has a host_ip key.
            var text = port is YamlScalarNode scalar ? scalar.Value! : ((YamlScalarNode)((YamlMappingNode)port)["host_ip"]).Value!;
            Assert.True(text.StartsWith("127.0.0.1", StringComparison.Ordinal), $"{service} publishes {text} beyond 127.0.0.1");
        }
    }

    [Fact]
    public async Task Config_EveryDependency_WaitsForAHealthyServer()
    {
        var services = await ResolvedServicesAsync();

        var dependents = 0;
        foreach (var (key, value) in services)
        {
            var service = (YamlMappingNode)value;
            if (!service.Children.TryGetValue("depends_on", out var dependsOn))
                continue;
            dependents++;
            foreach (var (dependency, condition) in ((YamlMappingNode)dependsOn).Children)
            {
                var name = ((YamlScalarNode)dependency).Value!;
                Assert.Equal("service_healthy", ((YamlScalarNode)((YamlMappingNode)condition)["condition"]).Value);
                Assert.True(((YamlMappingNode)services[name]).Children.ContainsKey("healthcheck"), $"{key} waits for {name}, which has no healthcheck");
            }
        }

        Assert.True(dependents >= Services.Length + 1, "the five services and the registry wait for their servers");
    }

    [Fact]
    public async Task Config_FiveServices_BuildFromTheOneDockerfileAndRestartOnFailure()
    {
        var services = await ResolvedServicesAsync();

        foreach (var name in Services)
        {
            var service = (YamlMappingNode)services[name];
            var build = (YamlMappingNode)service["build"];
            Assert.Equal("Dockerfile", ((YamlScalarNode)build["dockerfile"]).Value);
            Assert.Equal(Root, ((YamlScalarNode)build["context"]).Value);
            Assert.Equal(name, ((YamlScalarNode)((YamlMappingNode)build["args"])["SERVICE"]).Value);
            Assert.Equal("on-failure", ((YamlScalarNode)service["restart"]).Value);
            var environment = (YamlMappingNode)service["environment"];
            Assert.True(environment.Children.ContainsKey("ClickHouse__User"), $"{name} has no ClickHouse user");
            Assert.True(environment.Children.ContainsKey("ClickHouse__Password"), $"{name} has no ClickHouse password");
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "services"), "Dockerfile", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Config_ClickHouse_HasAUserWithAPasswordThatTheServicesUse()
    {
        var services = await ResolvedServicesAsync();

        var server = (YamlMappingNode)((YamlMappingNode)services["clickhouse"])["environment"];
        var user = ((YamlScalarNode)server["CLICKHOUSE_USER"]).Value;
        var password = ((YamlScalarNode)server["CLICKHOUSE_PASSWORD"]).Value;
        Assert.False(string.IsNullOrEmpty(password));
        Assert.NotEqual("default", user);
        var client = (YamlMappingNode)((YamlMappingNode)services["validator"])["environment"];
        Assert.Equal(user, ((YamlScalarNode)client["ClickHouse__User"]).Value);
        Assert.Equal(password, ((YamlScalarNode)client["ClickHouse__Password"]).Value);
    }

    [Fact]
    public void Dockerfile_RuntimeStage_RunsAsANonRootUser()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile")).Select(l => l.Trim()).ToList();

        var runtime = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var user = lines.Skip(runtime).LastOrDefault(l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.NotNull(user);
        Assert.DoesNotContain(user[5..].Trim(), RootUsers);
        Assert.Contains(lines, l => l.StartsWith("ARG SERVICE", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerIgnore_BuildContext_LeavesOutBuildsStateAndHistory()
    {
        var entries = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);

        foreach (var expected in IgnoredInBuildContext)
            Assert.Contains(expected, entries);
    }

    private static async Task<YamlMappingNode> ResolvedServicesAsync()
    {
        var (exit, stdout, stderr) = await DockerComposeAsync("config");
        Assert.True(exit == 0, $"docker-compose config failed ({exit}): {stderr}");
        var yaml = new YamlStream();
        yaml.Load(new StringReader(stdout));
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> DockerComposeAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker-compose")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        start.ArgumentList.Add("-f");
        start.ArgumentList.Add(Path.Combine(Root, "docker-compose.yml"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);

        // The defaults of the file, not whatever the caller's shell happens to set.
        start.Environment.Remove("CLICKHOUSE_USER");
        start.Environment.Remove("CLICKHOUSE_PASSWORD");
        start.Environment.Remove("PUFFY_REPLAY_SPEED");
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("docker-compose is not installed: run infra/install-servers.sh", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
