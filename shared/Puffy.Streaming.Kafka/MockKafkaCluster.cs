using System.Globalization;
using System.Runtime.InteropServices;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// librdkafka's in-process mock Kafka cluster: real Kafka protocol over TCP on 127.0.0.1 (random ports),
/// in memory only. Used by the integration tests and the local stack where no broker can run.
/// Any client (this process or another) reaches it through <see cref="BootstrapServers"/>.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const int ProducerType = 0; // RD_KAFKA_PRODUCER
    private const int ErrorStringSize = 512;
    private const short ProduceApiKey = 0;
    private const int NotEnoughReplicas = 19; // RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS

    private readonly Lock sync = new();
    private nint handle;
    private nint cluster;

    public MockKafkaCluster(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        Brokers = brokers;

        var conf = NativeMethods.ConfNew();
        // The host handle has no bootstrap servers of its own; keep its "no brokers" warning off stderr.
        SetOrThrow(conf, "log_level", "3");
        handle = CreateHandle(conf);
        cluster = NativeMethods.MockClusterNew(handle, brokers);
        if (cluster == 0)
        {
            NativeMethods.Destroy(handle);
            handle = 0;
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(NativeMethods.MockClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("rd_kafka_mock_cluster_bootstraps returned null.");
    }

    /// <summary>Comma-separated <c>host:port</c> list, one per mock broker.</summary>
    public string BootstrapServers { get; }

    public int Brokers { get; }

    /// <summary>Creates a topic (the mock does not implement CreateTopics; unknown topics auto-create with 4 partitions).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, Brokers);
        lock (sync)
        {
            ObjectDisposedException.ThrowIf(cluster == 0, this);
            var error = NativeMethods.MockTopicCreate(cluster, name, partitions, replicationFactor);
            if (error != 0)
            {
                throw new InvalidOperationException(string.Create(
                    CultureInfo.InvariantCulture, $"rd_kafka_mock_topic_create({name}) failed with error {error}."));
            }
        }
    }

    /// <summary>
    /// The next <paramref name="requests"/> produce requests fail with <c>NOT_ENOUGH_REPLICAS</c>, as a real cluster
    /// answers while too few replicas are in sync: a retriable error, so producers keep the messages queued and try
    /// again, and nothing of them is in the log meanwhile. Every other request is answered as usual.
    /// </summary>
    public void RefuseWrites(int requests)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        var errors = Enumerable.Repeat(NotEnoughReplicas, requests).ToArray();
        lock (sync)
        {
            ObjectDisposedException.ThrowIf(cluster == 0, this);
            NativeMethods.MockPushRequestErrors(cluster, ProduceApiKey, (nuint)errors.Length, errors);
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            if (cluster != 0)
            {
                NativeMethods.MockClusterDestroy(cluster);
                cluster = 0;
            }

            if (handle != 0)
            {
                NativeMethods.Destroy(handle);
                handle = 0;
            }
        }
    }

    private static unsafe nint CreateHandle(nint conf)
    {
        var errstr = stackalloc byte[ErrorStringSize];
        errstr[0] = 0;
        var rk = NativeMethods.New(ProducerType, conf, errstr, ErrorStringSize);
        if (rk == 0)
        {
            // rd_kafka_new takes ownership of conf only on success.
            NativeMethods.ConfDestroy(conf);
            throw new InvalidOperationException("rd_kafka_new failed: " + ReadError(errstr));
        }

        return rk;
    }

    private static unsafe void SetOrThrow(nint conf, string name, string value)
    {
        var errstr = stackalloc byte[ErrorStringSize];
        errstr[0] = 0;
        if (NativeMethods.ConfSet(conf, name, value, errstr, ErrorStringSize) != 0)
        {
            NativeMethods.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {ReadError(errstr)}");
        }
    }

    private static unsafe string ReadError(byte* errstr) => Marshal.PtrToStringUTF8((nint)errstr) ?? string.Empty;

    private static partial class NativeMethods
    {
        // The bundled librdkafka of librdkafka.redist, the same library Confluent.Kafka loads (see KafkaNative).
        private const string Library = "librdkafka";

        [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
        internal static partial nint ConfNew();

        [LibraryImport(Library, EntryPoint = "rd_kafka_conf_destroy")]
        internal static partial void ConfDestroy(nint conf);

        [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
        internal static unsafe partial int ConfSet(nint conf, string name, string value, byte* errstr, nuint errstrSize);

        [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
        internal static unsafe partial nint New(int type, nint conf, byte* errstr, nuint errstrSize);

        [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
        internal static partial void Destroy(nint rk);

        [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
        internal static partial nint MockClusterNew(nint rk, int brokerCount);

        // Returns a string owned by the cluster: read it as a pointer, never let a marshaller free it.
        [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
        internal static partial nint MockClusterBootstraps(nint cluster);

        [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int MockTopicCreate(nint cluster, string topic, int partitions, int replicationFactor);

        [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
        internal static partial void MockPushRequestErrors(nint cluster, short apiKey, nuint count, [In] int[] errors);

        [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
        internal static partial void MockClusterDestroy(nint cluster);
    }
}
