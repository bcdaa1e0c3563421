using Puffy.Streaming.Hosting;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.UnitTests.Hosting;

/// <summary>Which failures a service retries (infrastructure) and which stop it (a bug or lost data).</summary>
public sealed class TransientFailureUnitTests
{
    [Fact]
    public void IsTransient_CheckpointTransactionNotApplied_IsRetriedLikeAnIoFailure() =>
        Assert.True(Infrastructure.IsTransient(new CheckpointNotAppliedException("puffy:monitor:state: the checkpoint transaction was not applied")));

    [Fact]
    public void IsTransient_InvalidOperation_StopsTheService() =>
        Assert.False(Infrastructure.IsTransient(new InvalidOperationException("a bug")));
}
