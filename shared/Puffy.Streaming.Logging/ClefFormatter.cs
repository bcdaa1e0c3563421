using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serilog.Events;
using Serilog.Formatting;

namespace Puffy.Streaming.Logging;

/// <summary>
/// Writes each event as one line of Seq's Compact Log Event Format (CLEF): <c>@t</c>, <c>@mt</c>, <c>@m</c>,
/// <c>@l</c> (omitted for Information), <c>@x</c>, <c>@tr</c>/<c>@sp</c> when present, then every property.
/// Property names that start with '@' are escaped by doubling it, as CLEF requires.
/// </summary>
public sealed class ClefFormatter : ITextFormatter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Logs are not embedded in HTML, so keep non-ASCII text and '<', '>' and '&' readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly IFormatProvider _formatProvider;

    /// <summary>Creates a formatter that renders <c>@m</c> with <paramref name="formatProvider"/> (invariant by default).</summary>
    public ClefFormatter(IFormatProvider? formatProvider = null) =>
        _formatProvider = formatProvider ?? CultureInfo.InvariantCulture;

    /// <summary>Writes the event as one JSON object followed by a line feed.</summary>
    public void Format(LogEvent logEvent, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);

        var buffer = new ArrayBufferWriter<byte>(512);
        Write(logEvent, buffer);
        output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        output.Write('\n');
    }

    /// <summary>Writes the event as one UTF-8 JSON object, without a line terminator.</summary>
    internal void Write(LogEvent logEvent, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();
        json.WriteString("@t", logEvent.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("@mt", logEvent.MessageTemplate.Text);
        json.WriteString("@m", logEvent.RenderMessage(_formatProvider));
        if (logEvent.Level != LogEventLevel.Information)
        {
            json.WriteString("@l", LevelName(logEvent.Level));
        }

        if (logEvent.Exception is not null)
        {
            json.WriteString("@x", logEvent.Exception.ToString());
        }

        if (logEvent.TraceId is { } traceId)
        {
            json.WriteString("@tr", traceId.ToHexString());
        }

        if (logEvent.SpanId is { } spanId)
        {
            json.WriteString("@sp", spanId.ToHexString());
        }

        foreach (var (name, value) in logEvent.Properties)
        {
            json.WritePropertyName(name.StartsWith('@') ? "@" + name : name);
            WriteValue(json, value);
        }

        json.WriteEndObject();
        json.Flush();
    }

    private static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "Verbose",
        LogEventLevel.Debug => "Debug",
        LogEventLevel.Information => "Information",
        LogEventLevel.Warning => "Warning",
        LogEventLevel.Error => "Error",
        LogEventLevel.Fatal => "Fatal",
        _ => level.ToString(),
    };

    private static void WriteValue(Utf8JsonWriter json, LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue scalar:
                WriteScalar(json, scalar.Value);
                break;
            case SequenceValue sequence:
                json.WriteStartArray();
                foreach (var element in sequence.Elements)
                {
                    WriteValue(json, element);
                }

                json.WriteEndArray();
                break;
            case StructureValue structure:
                json.WriteStartObject();
                if (structure.TypeTag is not null)
                {
                    json.WriteString("$type", structure.TypeTag);
                }

                foreach (var property in structure.Properties)
                {
                    json.WritePropertyName(property.Name);
                    WriteValue(json, property.Value);
                }

                json.WriteEndObject();
                break;
            case DictionaryValue dictionary:
                json.WriteStartObject();
                foreach (var (key, element) in dictionary.Elements)
                {
                    json.WritePropertyName(Text(key.Value));
                    WriteValue(json, element);
                }

                json.WriteEndObject();
                break;
            default:
                json.WriteStringValue(value.ToString(null, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string text:
                json.WriteStringValue(text);
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case int number:
                json.WriteNumberValue(number);
                break;
            case long number:
                json.WriteNumberValue(number);
                break;
            case uint number:
                json.WriteNumberValue(number);
                break;
            case ulong number:
                json.WriteNumberValue(number);
                break;
            case short number:
                json.WriteNumberValue(number);
                break;
            case ushort number:
                json.WriteNumberValue(number);
                break;
            case byte number:
                json.WriteNumberValue(number);
                break;
            case sbyte number:
                json.WriteNumberValue(number);
                break;
            case decimal number:
                json.WriteNumberValue(number);
                break;
            case double number when double.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case float number when float.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case char character:
                json.WriteStringValue(new ReadOnlySpan<char>(in character));
                break;
            case DateTime timestamp:
                json.WriteStringValue(timestamp.ToString("O", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset timestamp:
                json.WriteStringValue(timestamp.ToString("O", CultureInfo.InvariantCulture));
                break;
            case DateOnly date:
                json.WriteStringValue(date.ToString("O", CultureInfo.InvariantCulture));
                break;
            case TimeOnly time:
                json.WriteStringValue(time.ToString("O", CultureInfo.InvariantCulture));
                break;
            case TimeSpan duration:
                json.WriteStringValue(duration.ToString("c", CultureInfo.InvariantCulture));
                break;
            case Guid id:
                json.WriteStringValue(id);
                break;
            default:
                // Enums, NaN/Infinity, Uri, BigInteger and anything else: their invariant text.
                json.WriteStringValue(Text(value));
                break;
        }
    }

    private static string Text(object? value) => value switch
    {
        null => "null",
        string text => text,
        Enum member => member.ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
