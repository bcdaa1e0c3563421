using System.Text.RegularExpressions;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Classification;

/// <summary>The marketing channel of a session from its landing event (semantics §4, rules 1–14, first match wins).</summary>
public static partial class ChannelClassifier
{
    private static readonly HashSet<string> PaidSocialMediums = ["cpc", "ppc", "paid", "paidsocial", "paid_social", "paid-social"];
    private static readonly HashSet<string> PaidMediums = ["cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "retargeting"];
    private static readonly HashSet<string> SearchEngines = ["google", "bing", "yahoo", "duckduckgo"];
    private static readonly HashSet<string> SocialNetworks = ["facebook", "instagram", "tiktok", "pinterest", "snapchat", "reddit", "twitter", "youtube", "meta"];
    private static readonly string[] SocialHosts = ["facebook.com", "instagram.com", "t.co", "twitter.com", "x.com", "pinterest.com", "reddit.com", "tiktok.com", "youtube.com", "linkedin.com"];
    private static readonly string[] SocialApps = ["com.facebook.", "com.instagram.", "com.twitter.", "com.pinterest", "com.reddit.", "com.linkedin.", "com.zhiliaoapp.musically", "com.google.android.youtube"];
    private static readonly string[] SearchHosts = ["bing.com", "duckduckgo.com", "yahoo.com", "ecosia.org"];
    private static readonly string[] ShopHosts = ["puffy.com"];
    private static readonly string[] YahooMail = ["mail.yahoo.com"];
    private static readonly string[] EmailHosts = ["mail.google.com", "outlook.live.com", "mail.yahoo.com"];

    private static readonly System.Buffers.SearchValues<char> UrlDelimiters = System.Buffers.SearchValues.Create("/?#");

    [GeneratedRegex(@"^(www\.)?google\.(com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex GoogleSearchHost();

    /// <param name="landingUrl">The landing page url (click ids and UTM parameters come from its query string).</param>
    /// <param name="referrer">The landing referrer; null when the file had no referrer column (UNKNOWN).</param>
    public static string Classify(string? landingUrl, string? referrer) => Classify(LandingQuery.Parse(landingUrl), referrer);

    /// <summary>As <see cref="Classify(string?, string?)"/>, with the landing url given as ASCII bytes (present, possibly empty).</summary>
    public static string ClassifyAscii(ReadOnlySpan<byte> landingUrl, string? referrer) => Classify(LandingQuery.ParseAscii(landingUrl), referrer);

    private static string Classify(LandingQuery q, string? referrer)
    {
        var medium = q.Medium is { } m ? UtmResolver.Resolve(m) : null;
        var source = q.Source is { } s ? UtmResolver.Resolve(s) : null;

        if (q.Has(ClickIds.Gclid | ClickIds.Gbraid | ClickIds.Wbraid | ClickIds.GadSource | ClickIds.Msclkid))
            return Channels.PaidSearch;
        if (q.Has(ClickIds.Ttclid) || (q.Has(ClickIds.Fbclid) && medium is not null && PaidSocialMediums.Contains(medium)))
            return Channels.PaidSocial;
        if (medium is "affiliate" or "affiliates" || q.Has(ClickIds.Irclickid | ClickIds.Irgwc))
            return Channels.Affiliates;
        if (medium == "sms" || source == "sms")
            return Channels.Sms;
        if (medium is "email" or "e-mail" or "newsletter" || source is "email" or "e-mail" or "newsletter")
            return Channels.Email;
        if (medium is "display" or "banner" or "cpm")
            return Channels.Display;
        if (medium is not null && PaidMediums.Contains(medium))
        {
            if (source is not null && SearchEngines.Contains(source))
                return Channels.PaidSearch;
            if (source is not null && SocialNetworks.Contains(source))
                return Channels.PaidSocial;
            return Channels.PaidOther;
        }

        var host = ReferrerHost(referrer);
        if (medium == "social" || q.Has(ClickIds.Fbclid) || (host is not null && IsSocialHost(host)))
            return Channels.OrganicSocial;
        if (medium == "organic" || (host is not null && IsSearchHost(host)))
            return Channels.OrganicSearch;
        if (host is not null && (host == "com.google.android.gm" || MatchesDomain(host, EmailHosts)))
            return Channels.Email;
        if (medium is not null || source is not null)
            return Channels.OtherCampaign;
        if (host is not null && host.Length > 0 && !IsShopHost(host))
            return Channels.Referral;
        if (referrer is null)
            return Channels.Unattributed;
        return Channels.Direct;
    }

    /// <summary>Lower-case host of a referrer: the URL's host, or for a non-URL the text up to the first '/'.</summary>
    public static string? ReferrerHost(string? referrer)
    {
        if (referrer is null)
            return null;
        if (referrer.Length == 0)
            return string.Empty;
        return (t_hosts ??= new RecentAnswers<string>()).Get(referrer, static r => ParseHost(r.AsSpan()));
    }

    // Referrers repeat heavily (search engines, the shop itself): remember recent hosts per thread.
    [ThreadStatic]
    private static RecentAnswers<string>? t_hosts;

    private static string ParseHost(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            text = text[(scheme + 3)..];
            var end = text.IndexOfAny(UrlDelimiters);
            if (end >= 0)
                text = text[..end];
            var at = text.LastIndexOf('@');
            if (at >= 0)
                text = text[(at + 1)..];
            var colon = text.LastIndexOf(':');
            if (colon >= 0 && !text.EndsWith("]", StringComparison.Ordinal))
                text = text[..colon];
        }
        else
        {
            var slash = text.IndexOf('/');
            if (slash >= 0)
                text = text[..slash];
        }

        Span<char> lower = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
        text.ToLowerInvariant(lower);
        return new string(lower);
    }

    private static bool IsShopHost(string host) => MatchesDomain(host, ShopHosts);

    private static bool IsSocialHost(string host)
    {
        if (MatchesDomain(host, SocialHosts))
            return true;
        foreach (var app in SocialApps)
        {
            if (host.StartsWith(app, StringComparison.Ordinal))
                return true;
        }

        return false;
    }

    private static bool IsSearchHost(string host)
    {
        if (GoogleSearchHost().IsMatch(host) || host == "com.google.android.googlequicksearchbox")
            return true;
        return MatchesDomain(host, SearchHosts) && !MatchesDomain(host, YahooMail);
    }

    /// <summary>True when the host equals one of the domains or is a subdomain of one.</summary>
    public static bool MatchesDomain(string host, ReadOnlySpan<string> domains)
    {
        foreach (var d in domains)
        {
            if (host == d || (host.Length > d.Length && host.EndsWith(d, StringComparison.Ordinal) && host[host.Length - d.Length - 1] == '.'))
                return true;
        }

        return false;
    }
}
