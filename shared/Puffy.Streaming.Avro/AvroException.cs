namespace Puffy.Streaming.Avro;

/// <summary>Raised for invalid schemas, values that do not match a schema, and malformed or truncated Avro input.</summary>
public sealed class AvroException : Exception
{
    public AvroException()
    {
    }

    public AvroException(string message)
        : base(message)
    {
    }

    public AvroException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
