using System.ComponentModel.DataAnnotations;

namespace Puffy.Streaming.Ingestor;

/// <summary>The <c>Ingestor</c> section.</summary>
public sealed class IngestorOptions
{
    public const string Section = "Ingestor";

    /// <summary>Folder of the daily CSV exports; every <c>*.csv</c> in it is replayed in file-name order.</summary>
    [Required]
    public string Data { get; set; } = "data/puffy-events";

    /// <summary><c>max</c>, <c>realtime</c> or <c>Nx</c> (e.g. <c>60x</c>).</summary>
    [RegularExpression(@"^(max|realtime|[0-9]+(\.[0-9]+)?x)$")]
    public string Speed { get; set; } = "max";

    /// <summary>Rows between two watermarks on every raw partition (also sent at least every 200 ms).</summary>
    [Range(1, 1_000_000)]
    public int WatermarkEvery { get; set; } = 1000;

    /// <summary>
    /// The row size limit (semantics §2, <c>oversized_row</c>), the same default as the embedded run. At most
    /// 400 KiB: a row travels with its fields, so a larger one could exceed the broker's 1 MB message limit.
    /// </summary>
    [Range(1024, 400 * 1024)]
    public int MaxRowBytes { get; set; } = 256 * 1024;

    /// <summary>Paced replays send a heartbeat metric this often, so the monitor can tell a silent source.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
}
