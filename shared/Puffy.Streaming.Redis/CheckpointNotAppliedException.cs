namespace Puffy.Streaming.Redis;

/// <summary>
/// A checkpoint's MULTI/EXEC came back not applied. The stores set no WATCH conditions, so this happens only when the
/// connection failed around EXEC (e.g. the server went away mid-transaction): an I/O failure, retried like one, and
/// harmless to retry since a checkpoint writes the same values again.
/// </summary>
public sealed class CheckpointNotAppliedException(string message) : IOException(message);
