using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.IntegrationTests.Kafka;

public static class KafkaTestKit
{
    /// <summary>Upper bound for any wait; the mock's first group join alone takes about 3 s.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static CancellationToken TestToken => TestContext.Current.CancellationToken;

    /// <summary>Polls until the condition holds or <see cref="Deadline"/> passes; the caller asserts afterwards.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(50, TestToken);
        }
    }

    public static Message<byte[]?, byte[]?> Message(string key, string value) =>
        new() { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(value) };

    public static string Text(byte[]? bytes) => bytes is null ? "<null>" : Encoding.UTF8.GetString(bytes);

    public static string Header(ConsumeResult<byte[]?, byte[]?> result, string key) =>
        Text(result.Message.Headers.GetLastBytes(key));
}

public sealed class RunningLoop<T>(
    ConsumerLoop<T> loop, Task task, CancellationTokenSource cancellation, IProducer<byte[]?, byte[]?> producer)
    : IAsyncDisposable
{
    public ConsumerLoop<T> Loop => loop;

    public Task Task => task;

    public CancellationTokenSource Cancellation => cancellation;

    public async ValueTask DisposeAsync()
    {
        await cancellation.CancelAsync();
        try
        {
            await task.WaitAsync(KafkaTestKit.Deadline, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // A test that crashes the loop on purpose has asserted that already.
        }

        cancellation.Dispose();
        producer.Dispose();
    }
}
