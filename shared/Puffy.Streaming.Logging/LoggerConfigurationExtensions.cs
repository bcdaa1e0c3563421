using Serilog;
using Serilog.Configuration;

namespace Puffy.Streaming.Logging;

/// <summary>Serilog configuration for the Seq sink.</summary>
public static class LoggerConfigurationExtensions
{
    /// <summary>Writes events to Seq through a <see cref="SeqSink"/>, which the logger disposes (and so flushes).</summary>
    public static LoggerConfiguration Seq(this LoggerSinkConfiguration sinkConfiguration, SeqSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(sinkConfiguration);
        return sinkConfiguration.Sink(new SeqSink(options));
    }
}
