using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>The consume step both stream runtimes share, and what a stalled partition holds.</summary>
internal static class Batches
{
    /// <summary>
    /// Hands up to <paramref name="maxMessages"/> messages to <paramref name="receive"/>, waiting up to
    /// <paramref name="wait"/> for the first and not at all for the rest. A position the broker no longer holds is
    /// an error (messages were lost), never a silent jump.
    /// </summary>
    public static void Consume(
        IConsumer<byte[]?, byte[]?> consumer, TimeSpan wait, int maxMessages, Action<ConsumeResult<byte[]?, byte[]?>> receive,
        Action<string> log, CancellationToken cancellationToken)
    {
        var timeout = wait;
        for (var n = 0; n < maxMessages; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = consumer.Consume(timeout);
            }
            catch (ConsumeException e) when (e.Error.Code == ErrorCode.Local_AutoOffsetReset)
            {
                throw new InvalidOperationException(
                    $"messages were deleted by the broker before they were consumed ({e.Error.Reason}); refusing to skip them", e);
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                log($"Consume error: {e.Error.Code} {e.Error.Reason}");
                return;
            }

            if (result is null)
                return;
            timeout = TimeSpan.Zero;
            if (!result.IsPartitionEOF)
                receive(result);
        }
    }

    /// <summary>Messages the broker holds in <paramref name="partition"/> from <paramref name="next"/> on (from the consumer's last fetch; 0 when unknown).</summary>
    public static long Waiting(IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition, long next)
    {
        var high = consumer.GetWatermarkOffsets(partition).High.Value;
        next = Math.Max(next, 0);
        return high >= 0 && high > next ? high - next : 0;
    }
}
