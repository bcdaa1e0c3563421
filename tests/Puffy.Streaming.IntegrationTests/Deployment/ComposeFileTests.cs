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
    private static readonly string[] LoopbackAddresses = ["::1", "127.0.0.1"];

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
            Assert.True(environment.Children.ContainsKey("Redis__Password"), $"{name} has no Redis password");
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "services"), "Dockerfile", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Config_ClickHouse_WriterAndReadOnlyAnalystWithPasswords_TheServicesUseTheWriter()
    {
        var services = await ResolvedServicesAsync();

        var clickHouse = (YamlMappingNode)services["clickhouse"];
        var server = (YamlMappingNode)clickHouse["environment"];
        var writerPassword = ((YamlScalarNode)server["CLICKHOUSE_WRITER_PASSWORD"]).Value;
        Assert.False(string.IsNullOrEmpty(writerPassword));
        Assert.False(string.IsNullOrEmpty(((YamlScalarNode)server["CLICKHOUSE_ANALYST_PASSWORD"]).Value));
        Assert.False(string.IsNullOrEmpty(((YamlScalarNode)server["CLICKHOUSE_ADMIN_PASSWORD"]).Value));
        Assert.Contains(((YamlSequenceNode)clickHouse["volumes"]).Select(v => ((YamlScalarNode)v).Value!),
            v => v.StartsWith(Path.Combine(Root, "infra", "clickhouse", "users.d", "puffy.xml") + ":/etc/clickhouse-server/users.d/", StringComparison.Ordinal));
        foreach (var name in Services)
        {
            var client = (YamlMappingNode)((YamlMappingNode)services[name])["environment"];
            Assert.Equal("puffy_writer", ((YamlScalarNode)client["ClickHouse__User"]).Value);
            Assert.Equal(writerPassword, ((YamlScalarNode)client["ClickHouse__Password"]).Value);
        }

        // The users file: passwords from those variables, the analyst read-only, the administrator local only.
        var users = System.Xml.Linq.XDocument.Load(Path.Combine(Root, "infra", "clickhouse", "users.d", "puffy.xml")).Root!;
        string PasswordVariable(string user) => (string)users.Element("users")!.Element(user)!.Element("password")!.Attribute("from_env")!;
        Assert.Equal("CLICKHOUSE_WRITER_PASSWORD", PasswordVariable("puffy_writer"));
        Assert.Equal("CLICKHOUSE_ANALYST_PASSWORD", PasswordVariable("puffy_analyst"));
        Assert.Equal("CLICKHOUSE_ADMIN_PASSWORD", PasswordVariable("default"));
        var analystProfile = (string)users.Element("users")!.Element("puffy_analyst")!.Element("profile")!;
        Assert.Equal("1", (string?)users.Element("profiles")!.Element(analystProfile)!.Element("readonly"));
        Assert.Equal(["GRANT SELECT ON puffy.*"], users.Element("users")!.Element("puffy_analyst")!.Element("grants")!.Elements("query").Select(q => q.Value));
        Assert.All(users.Element("users")!.Element("default")!.Element("networks")!.Elements("ip").Select(ip => ip.Value), ip => Assert.Contains(ip, LoopbackAddresses));
    }

    [Fact]
    public async Task Config_Redis_WantsAPasswordThatTheServicesAndTheHealthcheckUse()
    {
        var services = await ResolvedServicesAsync();

        var redis = (YamlMappingNode)services["redis"];
        var password = ((YamlScalarNode)((YamlMappingNode)redis["environment"])["REDIS_PASSWORD"]).Value;
        Assert.False(string.IsNullOrEmpty(password));
        var command = string.Join(' ', ((YamlSequenceNode)redis["command"]).Select(c => ((YamlScalarNode)c).Value));
        Assert.Contains("--aclfile", command, StringComparison.Ordinal);
        Assert.Contains("user puffy on", command, StringComparison.Ordinal);
        Assert.Contains("-@dangerous", command, StringComparison.Ordinal);
        Assert.DoesNotContain(password!, command, StringComparison.Ordinal);
        Assert.Contains("--user puffy", string.Join(' ', ((YamlSequenceNode)((YamlMappingNode)redis["healthcheck"])["test"]).Select(c => ((YamlScalarNode)c).Value)), StringComparison.Ordinal);
        foreach (var name in Services)
        {
            var client = (YamlMappingNode)((YamlMappingNode)services[name])["environment"];
            Assert.Equal("puffy", ((YamlScalarNode)client["Redis__User"]).Value);
            Assert.Equal(password, ((YamlScalarNode)client["Redis__Password"]).Value);
        }
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
    public void Dockerfile_RuntimeStage_GivesTheServicesTheLocalStacksGen0Budget()
    {
        var text = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        var runtime = text[text.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];

        var setting = System.Text.RegularExpressions.Regex.Match(runtime, LocalStack.Gen0BudgetVariable + @"=(\S+)");
        Assert.True(setting.Success, $"the runtime stage sets no {LocalStack.Gen0BudgetVariable}");
        Assert.Equal(LocalStack.Gen0Budget, setting.Groups[1].Value);
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
        foreach (var variable in new[] { "CLICKHOUSE_WRITER_PASSWORD", "CLICKHOUSE_ANALYST_PASSWORD", "CLICKHOUSE_ADMIN_PASSWORD", "REDIS_PASSWORD", "REDIS_ADMIN_PASSWORD" })
            start.Environment.Remove(variable);
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
