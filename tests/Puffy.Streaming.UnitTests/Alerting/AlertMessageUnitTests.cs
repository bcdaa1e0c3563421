using System.ComponentModel.DataAnnotations;
using Puffy.Streaming.Alerting;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Alerting;

/// <summary>What an alert looks like on the bus and at a webhook.</summary>
public sealed class AlertMessageUnitTests
{
    private static readonly Alert Sample =
        new(new DateOnly(2025, 2, 27), "missing_client_id", Severity.Critical, 12.5, 10, "12.5% of rows have no client_id");

    [Fact]
    public void From_SameAlertTwice_SameAlertIdAndMessageId()
    {
        var first = AlertRaised.From(Sample);
        var again = AlertRaised.From(Sample with { Observed = 13 });

        Assert.Equal("missing_client_id:2025-02-27", first.AlertId);
        Assert.Equal(first.MessageId(), again.MessageId());
        Assert.NotEqual(first.MessageId(), AlertRaised.From(Sample with { Day = new DateOnly(2025, 2, 28) }).MessageId());
    }

    [Fact]
    public void From_AlertWithoutDay_IdSaysUnknownAndDayIsNull()
    {
        var raised = AlertRaised.From(Sample with { Day = null, Rule = "no_events" });

        Assert.Equal("no_events:unknown", raised.AlertId);
        Assert.Null(raised.Day);
        Assert.Equal("[CRITICAL] no day no_events: 12.5% of rows have no client_id", SlackMessage.Text(raised));
    }

    [Theory]
    [InlineData(Severity.Warning, Severity.Warning, true)]
    [InlineData(Severity.Critical, Severity.Warning, true)]
    [InlineData(Severity.Info, Severity.Warning, false)]
    [InlineData(Severity.Warning, Severity.Critical, false)]
    public void IsAtLeast_SeverityAgainstMinimum_Compares(Severity severity, Severity minimum, bool expected) =>
        Assert.Equal(expected, AlertRaised.From(Sample with { Severity = severity }).IsAtLeast(minimum));

    [Fact]
    public void Of_CriticalAlert_SlackTextAndBlocks()
    {
        var json = SlackMessage.Of(AlertRaised.From(Sample));

        Assert.Equal("[CRITICAL] 2025-02-27 missing_client_id: 12.5% of rows have no client_id", (string?)json["text"]);
        Assert.Equal("section", (string?)json["blocks"]![0]!["type"]);
        Assert.Equal("*Observed*\n12.5", (string?)json["blocks"]![0]!["fields"]![0]!["text"]);
        Assert.Equal("alert id `missing_client_id:2025-02-27`", (string?)json["blocks"]![1]!["elements"]![0]!["text"]);
    }

    [Fact]
    public void Validate_BlankAndHttpsWebhooks_OnlyTheUrlIsATarget()
    {
        var options = new AlertingOptions { Webhooks = { "", "https://hooks.example.com/services/T/B/x" } };

        Assert.Empty(options.Validate(new ValidationContext(options)));
        Assert.Equal([new Uri("https://hooks.example.com/services/T/B/x")], options.Targets);
    }

    [Fact]
    public void Validate_NotAnHttpUrl_Fails()
    {
        var options = new AlertingOptions { Webhooks = { "hooks.example.com/x" } };

        Assert.Single(options.Validate(new ValidationContext(options)));
    }
}
