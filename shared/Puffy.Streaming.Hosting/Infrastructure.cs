using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Puffy.Streaming.Hosting;

/// <summary>
/// Infrastructure failures (Redis, ClickHouse or the network unavailable for a while) are retried with exponential
/// backoff until they succeed or the service stops; they never turn into dead letters. Anything else is a bug or
/// lost data and stops the service, which then restarts from its last commit.
/// </summary>
public static partial class Infrastructure
{
    public static bool IsTransient(Exception e) =>
        e is RedisConnectionException or RedisTimeoutException or TimeoutException or HttpRequestException or IOException
            or TaskCanceledException { InnerException: TimeoutException };

    /// <summary>
    /// A URL or connection string fit for a log line: a user name and password in a URL are replaced by <c>***</c>, as
    /// is the value of every <c>password=</c>/<c>pwd=</c> item of a connection string (<c>host:6379,password=…</c>).
    /// </summary>
    public static string Redact(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0
            ? new UriBuilder(uri) { UserName = "***", Password = string.Empty }.Uri.ToString()
            : PasswordItem().Replace(url ?? string.Empty, "${key}***");

    [GeneratedRegex(@"(?<key>(?:^|[,;])\s*(?:password|pwd)\s*=)[^,;]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordItem();

    /// <summary>
    /// How long one attempt may go unanswered before it is logged at Warning (and again each time as long): a server that
    /// froze holds its connections open and answers nothing, so a call can wait up to its client's timeout (minutes for
    /// ClickHouse) with nothing else to say why the stage stopped. The service's <c>Streams:StallWarning</c>.
    /// </summary>
    public static TimeSpan SlowCallWarning { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="step"/> until it succeeds, waiting 0.2 s, 0.4 s, … up to 30 s between attempts. An attempt is
    /// never abandoned (a checkpoint started at shutdown still completes); one that runs longer than
    /// <see cref="SlowCallWarning"/> is logged while it waits.
    /// </summary>
    public static async Task RetryAsync(string what, Func<Task> step, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var call = step();
                var started = Stopwatch.GetTimestamp();
                while (!call.IsCompleted)
                {
                    try
                    {
                        await call.WaitAsync(SlowCallWarning, CancellationToken.None);
                    }
                    catch (TimeoutException) when (!call.IsCompleted)
                    {
                        LogSlow(logger, what, attempt, Stopwatch.GetElapsedTime(started).TotalSeconds);
                    }
                }

                await call;
                return;
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                var delay = TimeSpan.FromMilliseconds(Math.Min(200 * Math.Pow(2, Math.Min(attempt - 1, 20)), 30_000));
                LogRetry(logger, what, attempt, delay.TotalSeconds, e.Message);
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    /// <summary>Runs <paramref name="step"/> until it succeeds (as above) and returns its result.</summary>
    public static async Task<T> RetryAsync<T>(string what, Func<Task<T>> step, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        var result = default(T)!;
        Func<Task> untyped = async () => result = await step();
        await RetryAsync(what, untyped, logger, cancellationToken);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What}: no answer for {WaitedSeconds:0} s (attempt {Attempt}), still waiting")]
    private static partial void LogSlow(ILogger logger, string what, int attempt, double waitedSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} failed (attempt {Attempt}), retrying in {DelaySeconds:0.0} s: {Error}")]
    private static partial void LogRetry(ILogger logger, string what, int attempt, double delaySeconds, string error);
}
