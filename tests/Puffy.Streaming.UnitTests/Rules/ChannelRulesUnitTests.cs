using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Classification;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §4: UTM hash resolution and channel rules 1–14, first match wins.</summary>
public sealed class ChannelRulesUnitTests
{
    private const string Landing = "https://puffy.com/products/puffy-mattress";

    private static string H(string value) => Fx.Md5Prefix(value);

    private static string Url(string query) => Landing + "?" + query;

    private static string Utm(string? medium = null, string? source = null)
    {
        var parts = new List<string>();
        if (medium is not null)
            parts.Add("utm_medium=" + H(medium));
        if (source is not null)
            parts.Add("utm_source=" + H(source));
        parts.Add("utm_campaign=" + H("spring"));
        return string.Join('&', parts);
    }

    public static TheoryData<string, string?, string> PositiveExamples() => new()
    {
        // 1 Paid Search: click ids
        { Url("gclid=Cj0KCQ"), "", Channels.PaidSearch },
        { Url("gbraid=0AAAA"), "", Channels.PaidSearch },
        { Url("wbraid=CkMK"), "", Channels.PaidSearch },
        { Url("gad_source=1"), "", Channels.PaidSearch },
        { Url("msclkid=abc"), "", Channels.PaidSearch },
        // 2 Paid Social
        { Url("ttclid=E.C.P"), "", Channels.PaidSocial },
        { Url("fbclid=IwAR&" + Utm("cpc")), "", Channels.PaidSocial },
        { Url("fbclid=IwAR&" + Utm("paid_social")), "", Channels.PaidSocial },
        { Url("fbclid=IwAR&" + Utm("paid-social")), "", Channels.PaidSocial },
        // 3 Affiliates
        { Url(Utm("affiliate")), "", Channels.Affiliates },
        { Url(Utm("affiliates")), "", Channels.Affiliates },
        { Url("irclickid=xyz"), "", Channels.Affiliates },
        { Url("irgwc=1"), "", Channels.Affiliates },
        // 4 SMS
        { Url(Utm("sms")), "", Channels.Sms },
        { Url(Utm(source: "sms")), "", Channels.Sms },
        // 5 Email
        { Url(Utm("email")), "", Channels.Email },
        { Url(Utm("e-mail")), "", Channels.Email },
        { Url(Utm("newsletter")), "", Channels.Email },
        { Url(Utm(source: "email")), "", Channels.Email },
        // 6 Display
        { Url(Utm("display")), "", Channels.Display },
        { Url(Utm("banner")), "", Channels.Display },
        { Url(Utm("cpm")), "", Channels.Display },
        // 7 Paid medium by source
        { Url(Utm("cpc", "google")), "", Channels.PaidSearch },
        { Url(Utm("ppc", "bing")), "", Channels.PaidSearch },
        { Url(Utm("paid_search", "duckduckgo")), "", Channels.PaidSearch },
        { Url(Utm("paid", "facebook")), "", Channels.PaidSocial },
        { Url(Utm("retargeting", "meta")), "", Channels.PaidSocial },
        { Url(Utm("paidsearch", "tiktok")), "", Channels.PaidSocial },
        { Url(Utm("cpc", "klaviyo")), "", Channels.PaidOther },
        { Url(Utm("paid-search")), "", Channels.PaidOther },
        // 8 Organic Social
        { Url(Utm("social")), "", Channels.OrganicSocial },
        { Url("fbclid=IwAR"), "", Channels.OrganicSocial },
        { Landing, "https://www.facebook.com/", Channels.OrganicSocial },
        { Landing, "https://l.instagram.com/?u=x", Channels.OrganicSocial },
        { Landing, "https://t.co/abc", Channels.OrganicSocial },
        { Landing, "https://x.com/puffy", Channels.OrganicSocial },
        { Landing, "https://www.linkedin.com/feed", Channels.OrganicSocial },
        { Landing, "https://m.youtube.com/watch?v=1", Channels.OrganicSocial },
        { Landing, "android-app://com.facebook.katana/", Channels.OrganicSocial },
        { Landing, "android-app://com.zhiliaoapp.musically", Channels.OrganicSocial },
        { Landing, "android-app://com.google.android.youtube", Channels.OrganicSocial },
        { Landing, "android-app://com.pinterest", Channels.OrganicSocial },
        // 9 Organic Search
        { Url(Utm("organic")), "", Channels.OrganicSearch },
        { Landing, "https://www.google.com/", Channels.OrganicSearch },
        { Landing, "https://www.google.co.uk/", Channels.OrganicSearch },
        { Landing, "https://google.de/", Channels.OrganicSearch },
        { Landing, "https://www.google.com.au/search?q=x", Channels.OrganicSearch },
        { Landing, "android-app://com.google.android.googlequicksearchbox/", Channels.OrganicSearch },
        { Landing, "https://www.bing.com/search?q=puffy", Channels.OrganicSearch },
        { Landing, "https://duckduckgo.com/", Channels.OrganicSearch },
        { Landing, "https://search.yahoo.com/", Channels.OrganicSearch },
        { Landing, "https://www.ecosia.org/", Channels.OrganicSearch },
        // 10 Email by referrer
        { Landing, "android-app://com.google.android.gm", Channels.Email },
        { Landing, "https://mail.google.com/mail/u/0/", Channels.Email },
        { Landing, "https://outlook.live.com/mail/0/", Channels.Email },
        { Landing, "https://mail.yahoo.com/", Channels.Email },
        // 11 Other Campaign
        { Url(Utm("push")), "", Channels.OtherCampaign },
        { Url(Utm(source: "klaviyo")), "", Channels.OtherCampaign },
        { Url(Utm("spring-sale")), "", Channels.OtherCampaign },
        // 12 Referral
        { Landing, "https://www.sleepreviews.example/best-mattress", Channels.Referral },
        { Landing, "sleepreviews.example/best-mattress", Channels.Referral },
        { Landing, "https://docs.google.com/document/d/1", Channels.Referral },
        { Landing, "https://notpuffy.com/", Channels.Referral },
        // 13 Unattributed
        { Landing, null, Channels.Unattributed },
        // 14 Direct
        { Landing, "", Channels.Direct },
        { Landing, "https://puffy.com/cart", Channels.Direct },
        { Landing, "https://www.puffy.com/", Channels.Direct },
        { Landing, "https://shop.puffy.com", Channels.Direct },
        { Landing, "puffy.com", Channels.Direct },
    };

    [Theory]
    [MemberData(nameof(PositiveExamples))]
    public void Classify_RuleExample_GivesChannel(string landingUrl, string? referrer, string expected) =>
        Assert.Equal(expected, ChannelClassifier.Classify(landingUrl, referrer));

    public static TheoryData<string, string?, string> PrecedenceExamples() => new()
    {
        { Url("gclid=1&" + Utm("email")), "", Channels.PaidSearch },                         // 1 over 5: auto-tagging beats UTM
        { Url("gclid=1&fbclid=2&" + Utm("cpc", "facebook")), "", Channels.PaidSearch },      // 1 over 2
        { Url("msclkid=1"), "https://www.facebook.com/", Channels.PaidSearch },              // 1 over social referrer
        { Url("ttclid=1&" + Utm("email")), "", Channels.PaidSocial },                        // 2 over 5
        { Url("fbclid=1&" + Utm("email")), "", Channels.Email },                             // fbclid without paid medium: 5 before 8
        { Url("fbclid=1&" + Utm("paidsearch", "google")), "", Channels.PaidSearch },         // paidsearch is not a paid-social medium: rule 7
        { Url("fbclid=1&" + Utm("organic")), "https://www.google.com/", Channels.OrganicSocial }, // 8 before 9
        { Url("irclickid=1&" + Utm("email")), "", Channels.Affiliates },                     // 3 over 5
        { Url(Utm("sms", "email")), "", Channels.Sms },                                      // 4 over 5
        { Url(Utm("email", "facebook")), "", Channels.Email },                               // 5 over 7
        { Url(Utm("cpm", "google")), "", Channels.Display },                                 // 6 over 7
        { Url(Utm("cpc", "google")), "https://www.facebook.com/", Channels.PaidSearch },     // 7 over 8
        { Url(Utm("organic")), "https://www.facebook.com/", Channels.OrganicSocial },        // 8 over 9
        { Url(Utm("push")), "https://www.google.com/", Channels.OrganicSearch },             // 9 over 11
        { Url(Utm("push")), "https://mail.google.com/", Channels.Email },                    // 10 over 11
        { Url(Utm("push")), "https://puffy.com/", Channels.OtherCampaign },                  // 11 over 14
        { Url(Utm("push")), "https://blog.example/", Channels.OtherCampaign },               // 11 over 12
        { Url(Utm("push")), null, Channels.OtherCampaign },                                  // 11 over 13
        { Url("gclid=1"), null, Channels.PaidSearch },                                       // 1 over 13
        { Landing, "https://mail.yahoo.com/d/folders/1", Channels.Email },                   // mail.yahoo.com is not search
        { Landing, "https://mail.google.com/", Channels.Email },                             // mail.google.com is not search
        { Landing + "?gclid=", "https://www.google.com/", Channels.PaidSearch },             // present even without value
        { Landing, "https://www.google.com/?gclid=abc", Channels.OrganicSearch },            // click ids come from the landing url only
    };

    [Theory]
    [MemberData(nameof(PrecedenceExamples))]
    public void Classify_SeveralRulesMatch_FirstRuleWins(string landingUrl, string? referrer, string expected) =>
        Assert.Equal(expected, ChannelClassifier.Classify(landingUrl, referrer));

    [Theory]
    [InlineData("HTTPS://WWW.FACEBOOK.COM/", "Organic Social")]
    [InlineData("https://WWW.Google.CO.UK/", "Organic Search")]
    [InlineData("https://WWW.PUFFY.COM/", "Direct")]
    [InlineData("www.facebook.com/some/path", "Organic Social")]
    [InlineData("www.google.com/search", "Organic Search")]
    public void Classify_ReferrerCaseOrNonUrlText_ComparesLowerCaseHostUpToSlash(string referrer, string expected) =>
        Assert.Equal(expected, ChannelClassifier.Classify(Landing, referrer));

    [Fact]
    public void Classify_UnknownVersusEmptyReferrer_UnattributedVersusDirect()
    {
        Assert.Equal(Channels.Unattributed, ChannelClassifier.Classify(Landing, null));
        Assert.Equal(Channels.Direct, ChannelClassifier.Classify(Landing, string.Empty));
    }

    [Theory]
    [InlineData("cpc")]
    [InlineData("email")]
    [InlineData("facebook")]
    [InlineData("e-mail")]
    [InlineData("paid_social")]
    public void Hash6_Term_IsFirstSixUpperHexOfMd5(string term) =>
        Assert.Equal(H(term), UtmResolver.Hash6(term));

    [Theory]
    [InlineData("Email", "email")]
    [InlineData("EMAIL", "email")]
    [InlineData("email", "email")]
    [InlineData("CPC", "cpc")]
    [InlineData("Cpc", "cpc")]
    [InlineData("facebook", "facebook")]
    [InlineData("Facebook", "facebook")]
    [InlineData("FACEBOOK", "facebook")]
    [InlineData("E-mail", "e-mail")]
    [InlineData("PAID_SOCIAL", "paid_social")]
    [InlineData("Duckduckgo", "duckduckgo")]
    public void Resolve_HashOfTermVariant_ResolvesToTerm(string variant, string term)
    {
        Assert.Equal(term, UtmResolver.Resolve(H(variant)));
        Assert.Equal(term, UtmResolver.Resolve(H(variant).ToLowerInvariant()));
    }

    [Fact]
    public void Resolve_HashOfNonTerm_StaysAsHash()
    {
        var hash = H("spring-sale");

        Assert.Equal(hash, UtmResolver.Resolve(hash));
    }

    [Fact]
    public void Classify_LowerCaseHashesOfCapitalizedTerms_ResolveCaseInsensitively()
    {
        var url = Url("utm_medium=" + H("CPC").ToLowerInvariant() + "&utm_source=" + H("Facebook").ToLowerInvariant());

        Assert.Equal(Channels.PaidSocial, ChannelClassifier.Classify(url, ""));
    }

    [Fact]
    public void Classify_UnresolvedHashMediumAndSource_IsOtherCampaign()
    {
        var url = Url("utm_medium=" + H("influencer") + "&utm_source=" + H("partner-x"));

        Assert.Equal(Channels.OtherCampaign, ChannelClassifier.Classify(url, ""));
    }

    [Fact]
    public void LandingQuery_UtmAndClickIds_AreReadFromQueryString()
    {
        var q = LandingQuery.Parse(Url("utm_source=" + H("google") + "&gclid=1&fbclid=2&utm_medium=" + H("cpc") + "#top"));

        Assert.Equal(H("google"), q.Source);
        Assert.Equal(H("cpc"), q.Medium);
        Assert.True(q.Has(ClickIds.Gclid));
        Assert.True(q.Has(ClickIds.Fbclid));
        Assert.False(q.Has(ClickIds.Ttclid));
    }

    [Fact]
    public void LandingQuery_UrlWithoutQuery_HasNothing()
    {
        var q = LandingQuery.Parse(Landing);

        Assert.Null(q.Medium);
        Assert.Null(q.Source);
        Assert.Equal(ClickIds.None, q.ClickIds);
    }

    [Theory]
    [InlineData("GCLID", "gclid")]
    [InlineData("Utm_Medium", "utm_medium")]
    [InlineData("Ttclid", "ttclid")]
    [InlineData("\u0131rclickid", "irclickid")] // dotless ı is not i to an ordinal comparison that ignores case
    [InlineData("sub1", "gclid")]
    [InlineData("%67clid", "gclid")]
    public void LandingQuery_KeyInAnotherCase_IsKnownExactlyWhenItEqualsTheKeyIgnoringCase(string key, string known)
    {
        var q = LandingQuery.Parse(Url(key + "=1&utm_source=" + H("google")));
        var equal = Uri.UnescapeDataString(key).Equals(known, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(equal, known switch
        {
            "gclid" => q.Has(ClickIds.Gclid),
            "utm_medium" => q.Medium is not null,
            "irclickid" => q.Has(ClickIds.Irclickid),
            "ttclid" => q.Has(ClickIds.Ttclid),
            _ => throw new ArgumentOutOfRangeException(nameof(known), known, "no check for this key"),
        });
        Assert.Equal(H("google"), q.Source);
    }

    [Fact]
    public void LandingQuery_FromAsciiBytes_ReadsWhatTheTextReads()
    {
        string[] crafted =
        [
            Landing, Url(""), Url("&&"), Url("=1"), Url("gclid"), Url("gclid="), Url("GCLID=1&utm_source=" + H("google")),
            Url("utm_medium=" + H("cpc") + "&utm_medium=" + H("email")), Url("%67clid=1"), Url("%75tm_source=" + H("sms")),
            Url("utm+medium=x&utm_source=a+b%20c"), Url("size=F8A6D9&sub1=7EABC2&gad_source=C4CA42#gclid=1"),
            Landing + "#top?gclid=1", Url("fbclid=" + new string('x', 600) + "&utm_medium=" + H("cpc")),
            Url(new string('g', 300) + "=1&ttclid=2"), Url("utm_source=%E2%82%AC&irgwc=1"), Url("utm_source=%zz&wbraid=1"),
        ];
        var real = Directory.GetFiles(RepoPaths.RealData, "*.csv")
            .SelectMany(f => File.ReadLines(f).Skip(1))
            .Select(line => line.Split(',', 3)[1])
            .Where(url => url.Contains('?', StringComparison.Ordinal) && System.Text.Ascii.IsValid(url))
            .ToList();
        Assert.True(real.Count > 1000, $"only {real.Count} real landing urls with a query");

        foreach (var url in crafted.Concat(real))
            Assert.Equal(LandingQuery.Parse(url), LandingQuery.ParseAscii(System.Text.Encoding.ASCII.GetBytes(url)));
    }
}
