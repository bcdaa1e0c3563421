using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka;

/// <summary>Header names the consumer loop puts on a dead-lettered message.</summary>
public static class DeadLetterHeaders
{
    public const string Reason = "reason";
    public const string Detail = "detail";
    public const string SourceTopic = "source-topic";
    public const string SourcePartition = "source-partition";
    public const string SourceOffset = "source-offset";

    public static IReadOnlyList<string> All { get; } = [Reason, Detail, SourceTopic, SourcePartition, SourceOffset];

    /// <summary>The dead-letter copy of a consumed message: its original key and bytes, its headers, and ours.</summary>
    public static Message<byte[]?, byte[]?> Route(ConsumeResult<byte[]?, byte[]?> result, string reason, string detail, int maxDetailLength = 1000)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (detail.Length > maxDetailLength)
        {
            detail = detail[..maxDetailLength];
        }

        var headers = new Headers();
        foreach (var header in result.Message.Headers ?? [])
        {
            // Keep the producer's headers for diagnosis, but ours must be unambiguous.
            if (!All.Contains(header.Key, StringComparer.Ordinal))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        headers.Add(Reason, Encoding.UTF8.GetBytes(reason));
        headers.Add(Detail, Encoding.UTF8.GetBytes(detail));
        headers.Add(SourceTopic, Encoding.UTF8.GetBytes(result.Topic));
        headers.Add(SourcePartition, Encoding.UTF8.GetBytes(result.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(SourceOffset, Encoding.UTF8.GetBytes(result.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        return new Message<byte[]?, byte[]?> { Key = result.Message.Key, Value = result.Message.Value, Headers = headers };
    }
}

public sealed class ConsumerLoopOptions
{
    public required string Topic { get; init; }

    public string DeadLetterTopic { get; init; } = Topics.DeadLetters;

    /// <summary>
    /// Which handler exceptions are infrastructure failures: retried with backoff forever (until cancelled),
    /// never dead-lettered. Any other handler exception ends the loop without storing the offset.
    /// </summary>
    public Func<Exception, bool> IsTransient { get; init; } = static e => e is TimeoutException or IOException;

    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest <c>detail</c> header; exception messages can be large.</summary>
    public int MaxDetailLength { get; init; } = 1000;
}

/// <summary>
/// At-least-once consumer: decode, handle, then store the offset (auto-commit commits stored offsets).
/// A message that fails to decode is poison: it goes to the dead-letter topic as the original bytes with
/// <see cref="DeadLetterHeaders"/>, and its offset is stored. Handlers must tolerate redelivery.
/// </summary>
public sealed class ConsumerLoop<T>
{
    private readonly ConsumerConfig config;
    private readonly ConsumerLoopOptions options;
    private readonly Func<ConsumeResult<byte[]?, byte[]?>, T> decode;
    private readonly Func<T, ConsumeResult<byte[]?, byte[]?>, CancellationToken, Task> handle;
    private readonly IProducer<byte[]?, byte[]?> deadLetterProducer;
    private readonly Action<string> log;
    private long handled;
    private long deadLettered;
    private long retries;

    /// <param name="config">Consumer settings; <c>enable.auto.offset.store</c> is forced to false.</param>
    /// <param name="decode">Pure; any exception it throws marks the message as poison.</param>
    /// <param name="handle">Side effects of one message; receives the raw record for keys, headers and offsets.</param>
    /// <param name="deadLetterProducer">Owned by the caller (typically the service's one producer).</param>
    /// <param name="log">Plain-text diagnostics; nothing per message except retries and dead letters.</param>
    public ConsumerLoop(
        ConsumerConfig config,
        ConsumerLoopOptions options,
        Func<ConsumeResult<byte[]?, byte[]?>, T> decode,
        Func<T, ConsumeResult<byte[]?, byte[]?>, CancellationToken, Task> handle,
        IProducer<byte[]?, byte[]?> deadLetterProducer,
        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DeadLetterTopic);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.InitialRetryDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRetryDelay, options.InitialRetryDelay);
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(deadLetterProducer);

        // Copy so the caller's object is untouched; storing offsets ourselves is what makes this at-least-once.
        this.config = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value)) { EnableAutoOffsetStore = false };
        this.options = options;
        this.decode = decode;
        this.handle = handle;
        this.deadLetterProducer = deadLetterProducer;
        this.log = log ?? (static _ => { });
    }

    /// <summary>Messages whose handler succeeded.</summary>
    public long Handled => Interlocked.Read(ref handled);

    public long DeadLettered => Interlocked.Read(ref deadLettered);

    /// <summary>Transient handler failures that were retried.</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled (then completes normally after Close) or a
    /// non-transient handler exception or fatal Kafka error ends it (then the task faults; that message's
    /// offset was not stored, so the next member of the group receives it again).
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        // Consume blocks; keep it off the caller's thread.
        Task.Run(() => RunCoreAsync(cancellationToken), CancellationToken.None);

    private async Task RunCoreAsync(CancellationToken cancellationToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler(KafkaClientLog.Handler)
            .SetErrorHandler((_, e) => log($"Kafka error on {options.Topic}: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .SetPartitionsAssignedHandler((_, parts) => log($"Assigned {Describe(parts)}"))
            .SetPartitionsRevokedHandler((_, parts) => log($"Revoked {Describe(parts.Select(p => p.TopicPartition))}"))
            .Build();
        consumer.Subscribe(options.Topic);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = consumer.Consume(cancellationToken);
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    // E.g. the topic does not exist yet; librdkafka keeps retrying on its own.
                    log($"Consume error on {options.Topic}: {e.Error.Code} {e.Error.Reason}");
                    continue;
                }

                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }

                await ProcessAsync(consumer, result, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }
        finally
        {
            Close(consumer);
        }
    }

    private async Task ProcessAsync(
        IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, CancellationToken cancellationToken)
    {
        T value;
        try
        {
            value = decode(result);
        }
#pragma warning disable CA1031 // Whatever a decoder throws, the input is poison and must not stop the consumer.
        catch (Exception e)
#pragma warning restore CA1031
        {
            await DeadLetterAsync(result, DeadLetterReasons.PoisonMessage, $"{e.GetType().Name}: {e.Message}", cancellationToken);
            StoreOffset(consumer, result);
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await handle(value, result, cancellationToken);
                break;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && options.IsTransient(e))
            {
                Interlocked.Increment(ref retries);
                var delay = Backoff(attempt);
                log($"Transient failure handling {Position(result)} (attempt {attempt.ToString(CultureInfo.InvariantCulture)}), retrying in {delay.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms: {e.GetType().Name}: {e.Message}");
                await Task.Delay(delay, cancellationToken);
            }
        }

        Interlocked.Increment(ref handled);
        StoreOffset(consumer, result);
    }

    private async Task DeadLetterAsync(
        ConsumeResult<byte[]?, byte[]?> result, string reason, string detail, CancellationToken cancellationToken)
    {
        var message = DeadLetterHeaders.Route(result, reason, detail, options.MaxDetailLength);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deadLetterProducer.ProduceAsync(options.DeadLetterTopic, message, cancellationToken);
                break;
            }
            catch (KafkaException e) when (!e.Error.IsFatal && !cancellationToken.IsCancellationRequested)
            {
                // The dead-letter topic being unreachable is an infrastructure failure like any other.
                var delay = Backoff(attempt);
                log($"Dead-lettering {Position(result)} failed, retrying in {delay.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms: {e.Error.Code} {e.Error.Reason}");
                await Task.Delay(delay, cancellationToken);
            }
        }

        Interlocked.Increment(ref deadLettered);
        log($"Dead-lettered {Position(result)} to {options.DeadLetterTopic}: {reason}: {detail}");
    }

    private void StoreOffset(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result)
    {
        try
        {
            consumer.StoreOffset(result);
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_State)
        {
            // The partition was revoked meanwhile (e.g. a retry outlived max.poll.interval.ms): its new owner
            // receives the message again, which at-least-once allows.
            log($"Could not store the offset of {Position(result)}: partition no longer assigned");
        }
    }

    private void Close(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            // Commits the stored offsets and leaves the group so a successor is assigned at once.
            consumer.Close();
            log($"Closed consumer of {options.Topic}");
        }
        catch (KafkaException e)
        {
            log($"Close of consumer of {options.Topic} failed: {e.Error.Code} {e.Error.Reason}");
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        var ms = Math.Min(options.InitialRetryDelay.TotalMilliseconds * factor, options.MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    private static string Position(ConsumeResult<byte[]?, byte[]?> result) =>
        string.Create(CultureInfo.InvariantCulture, $"{result.Topic}[{result.Partition.Value}]@{result.Offset.Value}");

    private static string Describe(IEnumerable<TopicPartition> partitions) =>
        string.Join(", ", partitions.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Topic}[{p.Partition.Value}]")));
}
