using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog;
using Serilog.Context;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Puffy.Streaming.Logging;

/// <summary>The one logger setup every service uses.</summary>
public static class PuffyLogging
{
    /// <summary>The value of the <c>Application</c> property on every event, unless the <c>Serilog</c> section sets another.</summary>
    public const string Application = "Puffy.Streaming";

    /// <summary>The console layout when <c>Logging:Console:Format</c> is <c>text</c> (the default); times are UTC.</summary>
    public const string ConsoleTemplate =
        "{UtcTimestamp:yyyy-MM-ddTHH:mm:ss.fffZ} [{Level:u3}] {Service} {ReplayId} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>The <c>ReplayId</c> of lines that belong to no replay (start-up, idle): every line has one.</summary>
    public const string NoReplay = "-";

    /// <summary>
    /// Makes Serilog the logging provider of <paramref name="services"/>: Information and above (Microsoft.* and
    /// System.* Warning and above), then whatever the <c>Serilog</c> section says (MinimumLevel, Override, WriteTo,
    /// Enrich, Properties); the console as text, or CLEF when <c>Logging:Console:Format</c> is <c>clef</c>; Seq when
    /// <c>Seq:Url</c> is set (with <c>Seq:ApiKey</c>); the properties <c>Service</c>, <c>ReplayId</c> (of the replay
    /// whose data the service is handling, from the log context; <c>-</c> when none), <c>Application</c> and
    /// <c>MachineName</c> on every event. The logger belongs to the service provider: disposing the provider (host
    /// shutdown) flushes the sinks, Seq included. An invalid <c>Logging:Console:Format</c> or <c>Seq:Url</c>, or the
    /// retired <c>Logging:MinimumLevel</c>, throws here, before the host is built.
    /// </summary>
    public static IServiceCollection AddPuffyLogging(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = Settings.Read(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        // preserveStaticLogger: the static Log.Logger stays untouched and each provider disposes its own logger. With
        // the default, the provider would dispose whatever Log.Logger is at that moment - another host's logger when
        // several hosts share a process, as in the tests.
        return services.AddSerilog(logger => Configure(logger, configuration, serviceName, settings), preserveStaticLogger: true);
    }

    /// <summary>
    /// Names the replay whose data the calling thread handles in every event it logs until disposed (a service's loop
    /// calls it per poll with the replay id its input carries).
    /// </summary>
    public static IDisposable Replay(string? replayId) => LogContext.PushProperty("ReplayId", string.IsNullOrEmpty(replayId) ? NoReplay : replayId);

    private static LoggerConfiguration Configure(LoggerConfiguration logger, IConfiguration configuration, string serviceName, Settings settings)
    {
        // Levels: the defaults first, so the Serilog section replaces any it names. Properties: an enricher adds one only
        // if it is absent, so Service (first) cannot be overridden, while the section's Properties/Enrich may replace
        // Application and MachineName (last).
        logger
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System", LogEventLevel.Warning)
            .Enrich.WithProperty("Service", serviceName)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("ReplayId", NoReplay)
            .Enrich.WithProperty("Application", Application)
            .Enrich.WithProperty("MachineName", Environment.MachineName);

        if (settings.ClefConsole)
        {
            logger.WriteTo.Console(new RenderedCompactJsonFormatter());
        }
        else
        {
            logger.WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: CultureInfo.InvariantCulture);
        }

        if (settings.SeqUrl is not null)
        {
            logger.WriteTo.Seq(settings.SeqUrl.AbsoluteUri, apiKey: settings.SeqApiKey, formatProvider: CultureInfo.InvariantCulture);
        }

        return logger;
    }

    private sealed record Settings(bool ClefConsole, Uri? SeqUrl, string? SeqApiKey)
    {
        public static Settings Read(IConfiguration configuration)
        {
            ArgumentNullException.ThrowIfNull(configuration);

            // Used to be this project's own switch; say where it went rather than ignore it silently.
            if (!string.IsNullOrWhiteSpace(configuration["Logging:MinimumLevel"]))
            {
                throw new InvalidOperationException(
                    "Logging:MinimumLevel is no longer read; set Serilog:MinimumLevel:Default (environment: Serilog__MinimumLevel__Default) instead.");
            }

            var format = configuration["Logging:Console:Format"];
            var clef = string.Equals(format, "clef", StringComparison.OrdinalIgnoreCase);
            if (!clef && !string.IsNullOrWhiteSpace(format) && !string.Equals(format, "text", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Logging:Console:Format must be 'text' or 'clef', not '{format}'.");
            }

            Uri? seqUrl = null;
            var url = configuration["Seq:Url"];
            if (!string.IsNullOrWhiteSpace(url)
                && (!Uri.TryCreate(url, UriKind.Absolute, out seqUrl) || (seqUrl.Scheme != Uri.UriSchemeHttp && seqUrl.Scheme != Uri.UriSchemeHttps)))
            {
                throw new InvalidOperationException($"Seq:Url must be an absolute http(s) URL, not '{url}'.");
            }

            var apiKey = configuration["Seq:ApiKey"];
            return new Settings(clef, seqUrl, string.IsNullOrWhiteSpace(apiKey) ? null : apiKey);
        }
    }
}
