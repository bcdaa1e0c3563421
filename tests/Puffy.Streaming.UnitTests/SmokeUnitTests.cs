using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests;

public sealed class XxHash64UnitTests
{
    [Theory]
    [InlineData("", 0UL, 0xEF46DB3751D8E999UL)]
    [InlineData("abc", 0UL, 0x44BC2CF5AD770999UL)]
    public void Hash_ReferenceVectors_Match(string text, ulong seed, ulong expected) =>
        Assert.Equal(expected, XxHash64.Hash(System.Text.Encoding.UTF8.GetBytes(text), seed));
}
