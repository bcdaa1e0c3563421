using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.Cli;

/// <summary>Where everything of a running local stack is; stored as <c>stack.json</c> in its state folder.</summary>
internal sealed record StackState(
    string Root,
    int RedisPort,
    int RedisPid,
    int ClickHouseHttpPort,
    int ClickHouseTcpPort,
    int ClickHousePid,
    string KafkaBootstrap,
    int? BrokerPid,
    int Partitions,
    Dictionary<string, int> Services,
    int? RabbitMqPort = null,
    int? RabbitMqManagementPort = null,
    int? RabbitMqPid = null,
    int? SupervisorPid = null,
    Dictionary<string, Dictionary<string, string>>? ServiceEnvironment = null,
    Dictionary<string, int>? Restarts = null,
    int Instances = 1,
    Dictionary<string, string>? Failing = null)
{
    public const string Database = "puffy";

    public Uri ClickHouseUrl => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ClickHouseHttpPort}/"));

    /// <summary>The stack's Kafka with the security settings of the environment (<c>Kafka__Security__…</c>).</summary>
    [JsonIgnore]
    public KafkaOptions Kafka => KafkaOptions.FromEnvironment(KafkaBootstrap);

    public string RedisConfiguration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{RedisPort}");

    public string LogFile(string component) => Path.Combine(Root, "logs", component + ".log");

    /// <summary>The password file of the services' Redis user (mode 0600).</summary>
    [JsonIgnore]
    public string RedisPasswordFile => LocalRedis.Attach(Path.Combine(Root, "redis"), RedisPort, RedisPid).ServicePasswordFile;

    /// <summary>The services' ClickHouse user: reads, writes and creates the tables of <see cref="Database"/>.</summary>
    public ClickHouseOptions ClickHouseWriter() => new()
    {
        BaseUrl = ClickHouseUrl,
        Database = Database,
        User = LocalClickHouse.WriterUser,
        PasswordFile = ClickHouseServer().WriterPasswordFile,
    };

    /// <summary>The analysts' ClickHouse user (SELECT only): what summary and report read with.</summary>
    public ClickHouseOptions ClickHouseAnalyst() => new()
    {
        BaseUrl = ClickHouseUrl,
        Database = Database,
        User = LocalClickHouse.AnalystUser,
        PasswordFile = ClickHouseServer().AnalystPasswordFile,
        ReadOnly = true,
    };

    public LocalClickHouse ClickHouseServer() =>
        LocalClickHouse.Attach(Path.Combine(Root, "clickhouse"), ClickHouseHttpPort, ClickHouseTcpPort, ClickHousePid);

    /// <summary>The configuration a service of this stack runs with (environment variables, .NET style).</summary>
    public Dictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kafka__BootstrapServers"] = KafkaBootstrap,
            ["Redis__Configuration"] = RedisConfiguration,
            ["Redis__User"] = LocalRedis.ServiceUser,
            ["Redis__PasswordFile"] = RedisPasswordFile,
            ["ClickHouse__BaseUrl"] = ClickHouseUrl.ToString(),
            ["ClickHouse__Database"] = Database,
            ["ClickHouse__User"] = LocalClickHouse.WriterUser,
            ["ClickHouse__PasswordFile"] = ClickHouseServer().WriterPasswordFile,
            ["Streams__Partitions"] = Partitions.ToString(CultureInfo.InvariantCulture),
        };
        // The collector's gen-0 budget (README, "The five services end to end"); one given to the caller wins.
        if (System.Environment.GetEnvironmentVariable(LocalStack.Gen0BudgetVariable) is null)
            env[LocalStack.Gen0BudgetVariable] = LocalStack.Gen0Budget;
        if (System.Environment.GetEnvironmentVariable("SEQ_URL") is { Length: > 0 } seq)
            env["Seq__Url"] = seq;
        if (RabbitMqPort is { } rabbit)
        {
            // The monitor publishes its alerts there; webhooks come from the caller's Alerting__Webhooks__N.
            env["RabbitMq__Host"] = "127.0.0.1";
            env["RabbitMq__Port"] = rabbit.ToString(CultureInfo.InvariantCulture);
        }

        return env;
    }
}

/// <summary>
/// The stack without Docker: Redis, ClickHouse (Debian packages), a Kafka-protocol broker (librdkafka's test cluster
/// in a <c>puffy broker</c> process, unless <c>KAFKA_BOOTSTRAP</c> names a real Kafka), optionally RabbitMQ (Debian
/// package; the monitor's alert delivery) and the four long-running services, as background processes under a state folder. The fifth service, the ingestor, runs per replay.
/// </summary>
internal static class LocalStack
{
    public static IReadOnlyList<string> LongRunning { get; } = ["validator", "sessionizer", "attribution", "monitor"];

    /// <summary>
    /// The collector's gen-0 budget the services run with (the Dockerfile sets the same). By default the runtime gives this
    /// machine a budget of 6 MiB, so the services collect gen 0 every few thousand events; with 64 MiB the validator and the
    /// sessionizer spend about a fifth less CPU per event on dense input, for about 50 MiB more resident memory each (README,
    /// "The five services end to end"). Only the environment sets it: runtimeconfig's <c>System.GC.Gen0Size</c> and
    /// <c>GCgen0size</c> are ignored.
    /// </summary>
    public const string Gen0BudgetVariable = "DOTNET_GCgen0size";

    /// <inheritdoc cref="Gen0BudgetVariable"/>
    public const string Gen0Budget = "0x4000000";

    /// <summary>The services that run as any number of instances sharing their input's partitions (<c>stack up --instances N</c>).</summary>
    public static IReadOnlyList<string> PartitionParallel { get; } = ["validator", "sessionizer", "attribution"];

    /// <summary>
    /// The services that run as any number of instances of which one, elected through its group, runs the stage while the others
    /// stand by to take over (<c>stack up --instances N</c>): the monitor, whose state spans its whole input (README, "Scale-out").
    /// </summary>
    public static IReadOnlyList<string> SingleOwner { get; } = ["monitor"];

    /// <summary>The instances of the long-running services: <c>sessionizer</c>, <c>sessionizer-2</c>, … for each service.</summary>
    public static IEnumerable<string> InstanceNames(int instances) =>
        LongRunning.SelectMany(s => Enumerable.Range(1, InstancesOf(s, instances))
            .Select(i => i == 1 ? s : string.Create(CultureInfo.InvariantCulture, $"{s}-{i}")));

    /// <summary>How many instances of <paramref name="service"/> a stack started with <paramref name="instances"/> runs.</summary>
    public static int InstancesOf(string service, int instances) =>
        PartitionParallel.Contains(service) || SingleOwner.Contains(service) ? instances : 1;

    /// <summary>The service an instance name belongs to (<c>sessionizer-2</c> → <c>sessionizer</c>).</summary>
    public static string ServiceOf(string instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var dash = instance.LastIndexOf('-');
        return dash > 0 && int.TryParse(instance.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _) ? instance[..dash] : instance;
    }

    public static string DefaultRoot =>
        System.Environment.GetEnvironmentVariable("PUFFY_STACK") is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : Path.Combine(RepoRoot(), ".puffy", "stack");

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static StackState? Load(string root)
    {
        var file = Path.Combine(root, "stack.json");
        return File.Exists(file) ? JsonSerializer.Deserialize<StackState>(File.ReadAllText(file)) : null;
    }

    /// <summary>The default stack's ClickHouse as its read-only analyst, on <paramref name="database"/>; null when no stack is up.</summary>
    public static ClickHouse.ClickHouseClient? ClickHouseAnalyst(string database)
    {
        if (Load(DefaultRoot) is not { } stack)
            return null;
        var analyst = stack.ClickHouseAnalyst();
        analyst.Database = database;
        return new ClickHouse.ClickHouseClient(analyst);
    }

    private static void Save(StackState state) => Update(state.Root, _ => state);

    /// <summary>
    /// Changes <c>stack.json</c> under an exclusive lock, so the supervisor (restarting services) and a command
    /// (restarting servers, naming a service's environment) never overwrite each other's change. Returns the new state;
    /// null when <paramref name="change"/> returns null. <paramref name="change"/> receives null while there is no
    /// <c>stack.json</c> yet.
    /// </summary>
    public static StackState? Update(string root, Func<StackState?, StackState?> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var file = Path.Combine(root, "stack.json");
        using var gate = Lock(root);
        var current = File.Exists(file) ? JsonSerializer.Deserialize<StackState>(File.ReadAllText(file)) : null;
        var updated = change(current);
        if (updated is null)
            return null;
        File.WriteAllText(file + ".tmp", JsonSerializer.Serialize(updated, Json));
        File.Move(file + ".tmp", file, overwrite: true);
        return updated;
    }

    private static FileStream Lock(string root)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return new FileStream(Path.Combine(root, "stack.json.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10); // another process holds the lock for one small write
            }
        }
    }

    /// <summary>The stack without RabbitMQ: the monitor delivers no alerts.</summary>
    public static Task<StackState> UpAsync(
        string root, int partitions, string? kafkaBootstrap, TextWriter output, CancellationToken cancellationToken = default) =>
        UpAsync(root, partitions, kafkaBootstrap, rabbitMq: false, instances: 1, output, cancellationToken);

    /// <summary>The stack without RabbitMQ, with <paramref name="instances"/> of each partition-parallel service.</summary>
    public static Task<StackState> UpAsync(
        string root, int partitions, int instances, TextWriter output, CancellationToken cancellationToken = default) =>
        UpAsync(root, partitions, kafkaBootstrap: null, rabbitMq: false, instances, output, cancellationToken);

    /// <param name="kafkaBootstrap">A Kafka to use; null starts the local test broker.</param>
    /// <param name="rabbitMq">Start RabbitMQ (with its management UI) for the monitor's alert delivery.</param>
    /// <param name="instances">Instances of each partition-parallel service (<see cref="PartitionParallel"/>) and single-owner service (<see cref="SingleOwner"/>).</param>
    public static async Task<StackState> UpAsync(
        string root, int partitions, string? kafkaBootstrap, bool rabbitMq, int instances, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        if (Load(root) is { } existing && Running(existing) is { Count: > 0 } running)
            throw new UsageException($"a stack is still (partly) running in {root}: {string.Join(", ", running)}; its data is kept (run 'puffy stack down' first)");
        if (Directory.Exists(root))
            Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(Path.Combine(root, "logs"));

        // The services' Redis password: PUFFY_REDIS_PASSWORD when set, else a new random one (redis/service.password).
        var redis = await LocalRedis.StartAsync(Path.Combine(root, "redis"), appendOnly: true,
            servicePassword: System.Environment.GetEnvironmentVariable("PUFFY_REDIS_PASSWORD"), ct: cancellationToken);
        output.WriteLine($"redis       up  {redis.Configuration} (pid {redis.Pid})");
        var clickHouse = await LocalClickHouse.StartAsync(Path.Combine(root, "clickhouse"), database: StackState.Database, ct: cancellationToken);
        output.WriteLine($"clickhouse  up  {clickHouse.BaseUrl} (pid {clickHouse.Pid})");

        string bootstrap;
        int? brokerPid = null;
        if (kafkaBootstrap is { Length: > 0 } external)
        {
            bootstrap = external;
            await TopicAdmin.EnsureAsync(KafkaOptions.FromEnvironment(bootstrap), Topics.All, partitions, cancellationToken);
            output.WriteLine($"kafka       up  {bootstrap} (KAFKA_BOOTSTRAP)");
        }
        else
        {
            (bootstrap, brokerPid) = await StartBrokerAsync(root, partitions, cancellationToken);
            output.WriteLine($"kafka       up  {bootstrap} (librdkafka test cluster, pid {brokerPid})");
        }

        LocalRabbitMq? rabbit = null;
        if (rabbitMq)
        {
            rabbit = await LocalRabbitMq.StartAsync(Path.Combine(root, "rabbitmq"), management: true, ct: cancellationToken);
            output.WriteLine($"rabbitmq    up  amqp://127.0.0.1:{rabbit.Port}, management http://127.0.0.1:{rabbit.ManagementPort}/ (pid {rabbit.Pid})");
        }

        var state = new StackState(root, redis.Port, redis.Pid, clickHouse.HttpPort, clickHouse.TcpPort, clickHouse.Pid, bootstrap, brokerPid,
            partitions, new Dictionary<string, int>(StringComparer.Ordinal), rabbit?.Port, rabbit?.ManagementPort, rabbit?.Pid, Instances: instances);
        Save(state);
        using (var client = new ClickHouseClient(state.ClickHouseWriter()))
            await client.ApplySchemaAsync(ClickHouseTarget.SchemaFolder(), cancellationToken);
        foreach (var service in InstanceNames(instances))
        {
            StartService(state, service);
            output.WriteLine($"{service,-11} up  pid {state.Services[service]} (log {state.LogFile(service)})");
        }

        var supervisor = BackgroundProcess.Start(DotnetHost(), [CliBinary(), "stack", "supervise", "--state", root], state.LogFile("supervisor"));
        state = Update(root, s => s! with { SupervisorPid = supervisor })!;
        output.WriteLine($"supervisor  up  pid {supervisor} (restarts a service that exits, with backoff; log {state.LogFile("supervisor")})");
        return state;
    }

    /// <summary>What a dead local test broker means for the stack, and what to do.</summary>
    public static string BrokerLost(int pid) =>
        string.Create(CultureInfo.InvariantCulture,
            $"the Kafka-protocol test broker (pid {pid}) is gone and with it every topic it kept in memory; the services' offsets and state refer to messages that no longer exist, so the stack cannot go on with right numbers: run 'puffy stack down', 'puffy stack up' and replay again (a real Kafka via KAFKA_BOOTSTRAP keeps its topics across restarts)");

    /// <summary>The parts of a stack whose processes are alive, by name.</summary>
    public static List<string> Running(StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var parts = new List<(string Name, int? Pid)>
        {
            ("supervisor", state.SupervisorPid), ("redis", state.RedisPid), ("clickhouse", state.ClickHousePid), ("kafka", state.BrokerPid), ("rabbitmq", state.RabbitMqPid),
        };
        parts.AddRange(state.Services.Select(kv => (kv.Key, (int?)kv.Value)));
        return parts.Where(p => p.Pid is { } pid && BackgroundProcess.IsAlive(pid)).Select(p => $"{p.Name} (pid {p.Pid})").ToList();
    }

    private static async Task<(string Bootstrap, int Pid)> StartBrokerAsync(string root, int partitions, CancellationToken cancellationToken)
    {
        var file = Path.Combine(root, "broker.bootstrap");
        var pid = BackgroundProcess.Start(DotnetHost(),
            [CliBinary(), "broker", "--partitions", partitions.ToString(CultureInfo.InvariantCulture), "--bootstrap-file", file],
            Path.Combine(root, "logs", "broker.log"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(file))
        {
            if (!BackgroundProcess.IsAlive(pid) || DateTime.UtcNow > deadline)
                throw new InvalidOperationException("the Kafka-protocol broker did not start: " + Tail(Path.Combine(root, "logs", "broker.log")));
            await Task.Delay(50, cancellationToken); // polling for the ready file
        }

        return ((await File.ReadAllTextAsync(file, cancellationToken)).Trim(), pid);
    }

    /// <summary>
    /// Starts one service of the stack with the stack's environment and the service's own settings
    /// (<see cref="StackState.ServiceEnvironment"/>), and records its pid. Only <c>stack up</c> and the supervisor call
    /// it; anyone else restarts a service through <see cref="RestartServiceAsync"/>.
    /// </summary>
    public static int StartService(StackState state, string service)
    {
        var env = state.Environment();
        // The instance's name in its consumer group (`_` for `.`: the launcher's /bin/sh drops a variable whose name holds a
        // dot). The session timeout stays librdkafka's 45 s: with 10 s, the local broker's group coordinator held the
        // monitor's election for minutes after a kill (its JOINING and SYNCING timers are one session timeout each).
        env["Kafka__Consumer__client_id"] = service;
        foreach (var (k, v) in state.ServiceEnvironment?.GetValueOrDefault(ServiceOf(service)) ?? [])
            env[k] = v;
        foreach (var (k, v) in state.ServiceEnvironment?.GetValueOrDefault(service) ?? [])
            env[k] = v;
        var dll = ServiceBinary(ServiceOf(service));
        var pid = BackgroundProcess.Start(DotnetHost(), [dll], state.LogFile(service), Path.GetDirectoryName(dll), env);
        state.Services[service] = pid;
        Update(state.Root, current =>
        {
            current?.Services[service] = pid;
            return current;
        });
        return pid;
    }

    /// <summary>
    /// Restarts a service gracefully (SIGTERM; it checkpoints and leaves its group) and waits until the supervisor has
    /// started its successor; <paramref name="environment"/>, when given, becomes the service's own settings from then on.
    /// Returns the new pid.
    /// </summary>
    public static async Task<int> RestartServiceAsync(
        string root, string service, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        if (Load(root) is { } current && !current.Services.ContainsKey(service))
            throw new UsageException($"no service '{service}' in the stack (one of {string.Join(", ", current.Services.Keys)})");
        var state = Update(root, s =>
        {
            if (s is not null && environment is not null)
            {
                var all = s.ServiceEnvironment ?? new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
                all[service] = new Dictionary<string, string>(environment, StringComparer.Ordinal);
                s = s with { ServiceEnvironment = all };
            }

            return s;
        }) ?? throw new UsageException($"no stack is up in {root}");
        var old = state.Services.GetValueOrDefault(service);
        StackSupervisor.RequestRestart(root, service);
        await BackgroundProcess.StopAsync(old, TimeSpan.FromSeconds(15));
        if (state.SupervisorPid is not { } supervisor || !BackgroundProcess.IsAlive(supervisor))
            return StartService(state, service);
        return await WaitForRestartAsync(root, service, old, TimeSpan.FromMinutes(1), cancellationToken);
    }

    /// <summary>Waits until the supervisor has replaced the process <paramref name="oldPid"/> of a service with a live one.</summary>
    public static async Task<int> WaitForRestartAsync(string root, string service, int oldPid, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Load(root)?.Services.GetValueOrDefault(service) is { } pid && pid != oldPid && BackgroundProcess.IsAlive(pid))
                return pid;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the {service} service was not restarted within {timeout}; the supervisor's log ends with:\n{Tail(Path.Combine(root, "logs", "supervisor.log"))}");
            await Task.Delay(100, cancellationToken); // polling the supervisor's record
        }
    }

    /// <summary>Stops Redis and ClickHouse (an outage as the services see it); their data stays in the state folder.</summary>
    public static async Task StopServersAsync(StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        await LocalRedis.Attach(Path.Combine(state.Root, "redis"), state.RedisPort, state.RedisPid).StopAsync();
        await LocalClickHouse.Attach(Path.Combine(state.Root, "clickhouse"), state.ClickHouseHttpPort, state.ClickHouseTcpPort, state.ClickHousePid).StopAsync();
    }

    /// <summary>Starts Redis and ClickHouse again on their ports and data; returns (and stores) the updated state.</summary>
    public static async Task<StackState> StartServersAsync(StackState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var redis = await LocalRedis.StartAsync(Path.Combine(state.Root, "redis"), state.RedisPort, appendOnly: true, ct: cancellationToken);
        var clickHouse = await LocalClickHouse.StartAsync(
            Path.Combine(state.Root, "clickhouse"), state.ClickHouseHttpPort, state.ClickHouseTcpPort, StackState.Database, cancellationToken);
        return Update(state.Root, s => s! with { RedisPid = redis.Pid, ClickHousePid = clickHouse.Pid })!;
    }

    /// <summary>kill -9: what a crash looks like to the rest of the stack.</summary>
    public static void KillService(StackState state, string service) => BackgroundProcess.Kill(state.Services[service]);

    public static async Task DownAsync(string root, TextWriter output)
    {
        if (Load(root) is not { } state)
        {
            output.WriteLine($"no stack in {root}");
            return;
        }

        // The supervisor first, so it does not restart the services being stopped.
        if (state.SupervisorPid is { } supervisor)
        {
            await BackgroundProcess.StopAsync(supervisor, TimeSpan.FromSeconds(10));
            output.WriteLine("supervisor  stopped");
        }

        state = Load(root) ?? state;
        foreach (var (service, pid) in state.Services)
        {
            await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(15));
            output.WriteLine($"{service,-11} stopped");
        }

        if (state.BrokerPid is { } broker)
        {
            await BackgroundProcess.StopAsync(broker, TimeSpan.FromSeconds(10));
            output.WriteLine("kafka       stopped");
        }

        if (state is { RabbitMqPort: { } rabbitPort, RabbitMqPid: { } rabbitPid })
        {
            await LocalRabbitMq.Attach(Path.Combine(root, "rabbitmq"), rabbitPort, state.RabbitMqManagementPort ?? 0, rabbitPid).StopAsync();
            output.WriteLine("rabbitmq    stopped");
        }

        await LocalClickHouse.Attach(Path.Combine(root, "clickhouse"), state.ClickHouseHttpPort, state.ClickHouseTcpPort, state.ClickHousePid).StopAsync();
        output.WriteLine("clickhouse  stopped");
        await LocalRedis.Attach(Path.Combine(root, "redis"), state.RedisPort, state.RedisPid).StopAsync();
        output.WriteLine("redis       stopped");
        File.Delete(Path.Combine(root, "stack.json"));
    }

    /// <summary>One line per component: name, up/down, pid, address. False when anything is down.</summary>
    public static async Task<bool> StatusAsync(string root, TextWriter output)
    {
        if (Load(root) is not { } state)
        {
            output.WriteLine($"no stack in {root} (start one with 'puffy stack up')");
            return false;
        }

        var allUp = true;
        void Line(string name, bool up, int? pid, string where)
        {
            allUp &= up;
            output.WriteLine($"{name,-11} {(up ? "up  " : "DOWN")} {(pid is { } p ? "pid " + p.ToString(CultureInfo.InvariantCulture) : "external"),-10} {where}");
        }

        Line("redis", await LocalRedis.PingAsync(state.RedisPort), state.RedisPid, state.RedisConfiguration);
        Line("clickhouse", await LocalClickHouse.PingAsync(state.ClickHouseUrl), state.ClickHousePid,
            string.Create(CultureInfo.InvariantCulture, $"{state.ClickHouseUrl} (native port {state.ClickHouseTcpPort})"));
        var brokerUp = state.BrokerPid is not { } b || BackgroundProcess.IsAlive(b);
        Line("kafka", brokerUp, state.BrokerPid, brokerUp ? state.KafkaBootstrap : $"{state.KafkaBootstrap}: {BrokerLost(state.BrokerPid!.Value)}");
        if (state.RabbitMqPort is { } rabbit)
            Line("rabbitmq", await LocalRabbitMq.PingAsync(rabbit), state.RabbitMqPid, string.Create(CultureInfo.InvariantCulture, $"amqp://127.0.0.1:{rabbit}"));
        if (state.SupervisorPid is { } supervisor)
            Line("supervisor", BackgroundProcess.IsAlive(supervisor), supervisor, state.LogFile("supervisor"));
        foreach (var (service, pid) in state.Services)
        {
            var restarts = state.Restarts?.GetValueOrDefault(service) ?? 0;
            var failing = state.Failing?.GetValueOrDefault(service);
            Line(service, BackgroundProcess.IsAlive(pid) && failing is null, pid, state.LogFile(service) + (restarts > 0 ? $" (restarted {restarts}x)" : string.Empty)
                                                       + (failing is null ? string.Empty : $"\n{string.Empty,-11} keeps failing: {failing}"));
        }

        output.WriteLine();
        foreach (var line in LagLines(state))
            output.WriteLine(line);
        output.WriteLine();
        foreach (var line in QueryCommands(state))
            output.WriteLine(line);
        return allUp;
    }

    /// <summary>The ordered stages: service, consumer group and the topic it reads.</summary>
    public static IReadOnlyList<(string Service, string Group, string Topic)> OrderedStages { get; } =
    [
        ("validator", ConsumerGroups.Validator, Topics.RawEvents),
        ("sessionizer", ConsumerGroups.Sessionizer, Topics.ValidEvents),
        ("attribution", ConsumerGroups.Attribution, Topics.SessionizedEvents),
    ];

    /// <summary>
    /// Per ordered stage: its consumer lag per partition and, for the partition-parallel ones, each instance (its client id
    /// in the group) with the partitions the group assigned it; then the monitor's lag (its topics added up per partition)
    /// and which of its instances runs it.
    /// </summary>
    public static IEnumerable<string> LagLines(StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var lines = new List<string>();
        try
        {
            var timeout = TimeSpan.FromSeconds(5);
            foreach (var (service, group, topic) in OrderedStages)
            {
                // The lag of a group is read through a consumer of that group (it never joins or consumes).
                using var probe = new Confluent.Kafka.ConsumerBuilder<byte[]?, byte[]?>(state.Kafka.ProbeConfig(group)).SetLogHandler(KafkaClientLog.Handler).Build();
                var partitions = Enumerable.Range(0, state.Partitions).Select(p => new Confluent.Kafka.TopicPartition(topic, p)).ToList();
                var lag = ConsumerLag.PerPartition(probe, partitions, timeout).ToList();
                var instances = InstancesOf(service, state.Instances);
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{service,-11} {instances} instance{(instances == 1 ? "" : "s")}, {state.Partitions} partitions of {topic}: lag {PerPartition(lag)}"));
                if (PartitionParallel.Contains(service))
                    lines.AddRange(Members(state, service, group, topic));
            }
        }
        catch (Confluent.Kafka.KafkaException e)
        {
            lines.Add($"consumer lag unreadable: {e.Message}");
            return lines;
        }

        try
        {
            foreach (var (service, group, topics) in SingleOwnerStages)
            {
                // The lag over the stage's topics, added up per partition number.
                using var probe = new Confluent.Kafka.ConsumerBuilder<byte[]?, byte[]?>(state.Kafka.ProbeConfig(group)).SetLogHandler(KafkaClientLog.Handler).Build();
                var lag = new long[state.Partitions];
                foreach (var topic in topics)
                {
                    var partitions = Enumerable.Range(0, state.Partitions).Select(p => new Confluent.Kafka.TopicPartition(topic, p)).ToList();
                    var i = 0;
                    foreach (var l in ConsumerLag.PerPartition(probe, partitions, TimeSpan.FromSeconds(5)))
                        lag[i++] += l;
                }

                var instances = state.Services.Keys.Where(i => ServiceOf(i) == service).Order(StringComparer.Ordinal).ToList();
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{service,-11} {instances.Count} instance{(instances.Count == 1 ? "" : "s")} (one runs, any other stands by), {state.Partitions} partitions of {topics.Length} topics: lag {PerPartition(lag)}"));
                lines.AddRange(instances.Select(i => $"            {i,-14} {RoleFromLog(state.LogFile(i)) ?? "starting"} (from its log)"));
            }
        }
        catch (Confluent.Kafka.KafkaException e)
        {
            lines.Add($"consumer lag unreadable: {e.Message}");
        }

        return lines;
    }

    /// <summary>The single-owner stages: their service, consumer group and input topics.</summary>
    public static IReadOnlyList<(string Service, string Group, string[] Topics)> SingleOwnerStages { get; } =
    [
        ("monitor", ConsumerGroups.Monitor, [Topics.Metrics, Topics.DeadLetters, Topics.Sessions, Topics.AttributedOrders]),
    ];

    /// <summary>Whether an instance of a single-owner stage runs it or stands by, by its log's last such line; null without any.</summary>
    internal static string? RoleFromLog(string logFile)
    {
        if (!File.Exists(logFile))
            return null;
        string? role = null;
        foreach (var line in File.ReadLines(logFile))
        {
            if (line.Contains("This instance runs the stage", StringComparison.Ordinal))
                role = "runs the stage";
            else if (line.Contains("Standing by:", StringComparison.Ordinal) || line.Contains("gave the stage up", StringComparison.Ordinal)
                     || line.Contains("lost the stage", StringComparison.Ordinal) || line.Contains("another instance runs the stage now", StringComparison.Ordinal))
                role = "stands by";
        }

        return role;
    }

    /// <summary>The members of a consumer group and the partitions of <paramref name="topic"/> each owns, as the group's coordinator says.</summary>
    private static List<string> Members(StackState state, string service, string group, string topic)
    {
        try
        {
            using var admin = new Confluent.Kafka.AdminClientBuilder(state.Kafka.AdminConfig()).SetLogHandler(KafkaClientLog.Handler).Build();
            var description = admin.DescribeConsumerGroupsAsync([group], new Confluent.Kafka.Admin.DescribeConsumerGroupsOptions { RequestTimeout = TimeSpan.FromSeconds(5) })
                .GetAwaiter().GetResult().ConsumerGroupDescriptions.Single();
            if (description.Members.Count == 0)
                return [$"            no instance in group {group} ({description.State})"];
            return description.Members.OrderBy(m => m.ClientId, StringComparer.Ordinal).Select(m =>
            {
                var owned = m.Assignment?.TopicPartitions.Where(tp => tp.Topic == topic).Select(tp => tp.Partition.Value).Order().ToList() ?? [];
                return string.Create(CultureInfo.InvariantCulture,
                    $"            {m.ClientId,-14} partitions {(owned.Count == 0 ? "none" : string.Join(", ", owned))} (host {m.Host})");
            }).ToList();
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or Confluent.Kafka.Admin.DescribeConsumerGroupsException or InvalidOperationException)
        {
            // The local test broker cannot describe groups: each instance logs what it was assigned, revoked and lost.
            return [.. state.Services.Keys.Where(i => ServiceOf(i) == service).Order(StringComparer.Ordinal)
                .Select(i => string.Create(CultureInfo.InvariantCulture,
                    $"            {i,-14} partitions {OwnedFromLog(state.LogFile(i), topic) ?? "unknown"} (from its log: the broker cannot describe groups)"))];
        }
    }

    /// <summary>
    /// Waits until every instance of each partition-parallel service owns partitions of its input (by the instances' logs),
    /// so a measurement does not include a group still forming (the local broker can hold a join for tens of seconds).
    /// False when <paramref name="timeout"/> passed first; throws once a service is recorded as failing (it never will).
    /// </summary>
    public static async Task<bool> WaitForAssignmentsAsync(StackState state, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Load(state.Root) is { } now && FailingMessage(now) is { } failing)
                throw new InvalidOperationException(failing);
            var waiting = OrderedStages.Where(s => PartitionParallel.Contains(s.Service))
                .SelectMany(s => state.Services.Keys.Where(i => ServiceOf(i) == s.Service).Select(i => (Instance: i, s.Topic)))
                .Any(i => OwnedFromLog(state.LogFile(i.Instance), i.Topic) is null or "none");
            if (!waiting)
                return true;
            if (DateTime.UtcNow > until)
                return false;
            await Task.Delay(200, cancellationToken); // polling the instances' logs for their assignment
        }
    }

    /// <summary>The partitions an instance owns now, by its log's Assigned / Revoked / Lost lines; null without any.</summary>
    internal static string? OwnedFromLog(string logFile, string topic)
    {
        if (!File.Exists(logFile))
            return null;
        SortedSet<int>? owned = null;
        var pattern = new System.Text.RegularExpressions.Regex(@"(Assigned|Revoked|Lost) partition\(s\) ([\d, ]*) of " + System.Text.RegularExpressions.Regex.Escape(topic));
        foreach (var line in File.ReadLines(logFile))
        {
            if (pattern.Match(line) is not { Success: true } m)
                continue;
            owned ??= [];
            var partitions = m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.Parse(p, CultureInfo.InvariantCulture));
            if (m.Groups[1].Value == "Assigned")
                owned.UnionWith(partitions);
            else
                owned.ExceptWith(partitions);
        }

        return owned is null ? null : owned.Count == 0 ? "none" : string.Join(", ", owned);
    }

    private static string PerPartition(IEnumerable<long> values) =>
        string.Join(", ", values.Select((v, p) => string.Create(CultureInfo.InvariantCulture, $"[{p}] {v}")));

    /// <summary>
    /// Ready-to-paste commands that open the stack's ClickHouse (database puffy, as the read-only analyst) and Redis (as
    /// the services' user); they read the passwords from their files, so the passwords never appear on the screen.
    /// </summary>
    public static IEnumerable<string> QueryCommands(StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var analyst = state.ClickHouseAnalyst();
        yield return string.Create(CultureInfo.InvariantCulture,
            $"query ClickHouse: clickhouse-client --host 127.0.0.1 --port {state.ClickHouseTcpPort} --user {analyst.User} --password \"$(cat {analyst.PasswordFile})\" -d {StackState.Database}");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"         or HTTP: curl -H 'X-ClickHouse-User: {analyst.User}' -H \"X-ClickHouse-Key: $(cat {analyst.PasswordFile})\" '{state.ClickHouseUrl}?database={StackState.Database}' --data-binary 'SELECT count() FROM sessions FINAL'");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"query Redis:      REDISCLI_AUTH=\"$(cat {state.RedisPasswordFile})\" redis-cli -h 127.0.0.1 -p {state.RedisPort} --user {LocalRedis.ServiceUser}");
        yield return $"follow the logs:  tail -F {Path.Combine(state.Root, "logs")}/*.log";
    }

    /// <summary>The running dotnet host (services are framework-dependent .dll files).</summary>
    public static string DotnetHost() =>
        System.Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

    private static readonly string[] Configurations = ["Release", "Debug"];

    /// <summary>This command line's own build (for <c>puffy broker</c>).</summary>
    public static string CliBinary() =>
        Configurations.Select(c => Path.Combine(RepoRoot(), "services", "cli", "bin", c, "net10.0", "puffy.dll"))
            .Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? typeof(LocalStack).Assembly.Location;

    /// <summary>The newest build of a service: services/NAME/bin/{Release,Debug}/net10.0/puffy-NAME.dll.</summary>
    public static string ServiceBinary(string service)
    {
        var candidates = Configurations
            .Select(c => Path.Combine(RepoRoot(), "services", service, "bin", c, "net10.0", $"puffy-{service}.dll"))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .ToList();
        return candidates.Count > 0
            ? candidates[0]
            : throw new InvalidOperationException($"the {service} service is not built (run ./puffy, which builds it, or dotnet build -c Release)");
    }

    /// <summary>
    /// Why the run of a service whose log begins at <paramref name="from"/> (bytes) in <paramref name="file"/> stopped: the
    /// message of its last Fatal line, and the exception line after it. Null when that run logged no Fatal line (e.g. it was
    /// killed).
    /// </summary>
    public static string? FailureOf(string file, long from)
    {
        if (!File.Exists(file))
            return null;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        string? fatal = null, detail = null;
        var afterFatal = false;
        while (reader.ReadLine() is { } line)
        {
            var at = line.IndexOf("[FTL] ", StringComparison.Ordinal);
            if (at >= 0)
            {
                // "[FTL] validator - Source.Context: message": the message.
                var text = line[(at + 6)..];
                var source = text.IndexOf(" - ", StringComparison.Ordinal);
                var message = source < 0 ? -1 : text.IndexOf(": ", source, StringComparison.Ordinal);
                (fatal, detail, afterFatal) = (message < 0 ? text : text[(message + 2)..], null, true);
            }
            else if (afterFatal)
            {
                // The exception's type and message, if the Fatal line has one: not a stack line (those start with
                // spaces) nor the next log line (those start with the time).
                if (line.Length > 0 && !char.IsWhiteSpace(line[0]) && !(line.Length > 10 && char.IsAsciiDigit(line[0]) && line[4] == '-' && line[10] == 'T'))
                    detail = line;
                afterFatal = false;
            }
        }

        return fatal is null ? null : detail is null ? fatal : fatal + " — " + detail;
    }

    /// <summary>A message naming each service the supervisor found failing the same way again and again; null when none is.</summary>
    public static string? FailingMessage(StackState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Failing is not { Count: > 0 } failing)
            return null;
        return string.Join("; ", failing.Select(f => $"the {f.Key} service keeps failing: {f.Value} (its log: {state.LogFile(f.Key)})"));
    }

    /// <summary>The last lines of a log, for error messages.</summary>
    public static string Tail(string file, int lines = 20) =>
        File.Exists(file) ? string.Join('\n', File.ReadLines(file).TakeLast(lines)) : $"({file} does not exist)";

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Puffy.Streaming.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository (Puffy.Streaming.sln) above " + AppContext.BaseDirectory);
    }
}
