using System.Globalization;
using System.Numerics;
using Avro;
using Avro.Generic;

namespace Puffy.Streaming.UnitTests.Contracts;

/// <summary>A generic Avro datum for any schema, every field set (optional ones to their non-null branch).</summary>
internal static class SampleDatum
{
    public static object For(Schema schema) => schema switch
    {
        RecordSchema record => Record(record),
        EnumSchema e => new GenericEnum(e, e.Symbols[0]),
        ArraySchema array => new object[] { For(array.ItemSchema) },
        UnionSchema union => For(union.Schemas.FirstOrDefault(b => b.Tag != Schema.Type.Null) ?? union.Schemas[0]),
        LogicalSchema logical => logical.LogicalTypeName switch
        {
            "timestamp-millis" => new DateTime(2025, 3, 1, 10, 15, 30, 250, DateTimeKind.Utc),
            "date" => new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc),
            "decimal" => new AvroDecimal(new BigInteger(123456), int.Parse(logical.GetProperty("scale") ?? "0", CultureInfo.InvariantCulture)),
            var other => throw new NotSupportedException(other),
        },
        PrimitiveSchema p => p.Tag switch
        {
            Schema.Type.String => "text",
            Schema.Type.Int => 7,
            Schema.Type.Long => 7L,
            Schema.Type.Double => 1.5,
            Schema.Type.Float => 1.5f,
            Schema.Type.Boolean => true,
            Schema.Type.Bytes => new byte[] { 1, 2 },
            Schema.Type.Null => null!,
            var other => throw new NotSupportedException(other.ToString()),
        },
        _ => throw new NotSupportedException(schema.Tag.ToString()),
    };

    private static GenericRecord Record(RecordSchema schema)
    {
        var record = new GenericRecord(schema);
        foreach (var field in schema.Fields)
            record.Add(field.Name, For(field.Schema));
        return record;
    }
}
