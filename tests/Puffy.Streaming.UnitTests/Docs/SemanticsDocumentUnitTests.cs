using System.Text.RegularExpressions;

namespace Puffy.Streaming.UnitTests.Docs;

/// <summary>
/// docs/semantics.md is the contract the code and the docs cite as "semantics §N": every such reference must land on
/// a section of it, and nothing may point at the contract's old home outside the repository.
/// </summary>
public sealed partial class SemanticsDocumentUnitTests
{
    private static readonly string Document = Path.Combine(RepoPaths.Root, "docs", "semantics.md");

    [Fact]
    public void SectionReferences_InEveryCsAndMdFile_ResolveToAHeadingOfDocsSemantics()
    {
        var headings = Sections();

        var dangling = SourceFiles()
            .SelectMany(file => SectionReference().Matches(File.ReadAllText(file))
                .Select(m => (File: Path.GetRelativePath(RepoPaths.Root, file), Section: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))))
            .Where(r => !headings.Contains(r.Section))
            .Select(r => $"{r.File}: §{r.Section}")
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.True(dangling.Count == 0, "no '## N.' heading in docs/semantics.md for: " + string.Join(", ", dangling));
    }

    [Fact]
    public void Sections_DocsSemantics_NumbersOneToNineInOrder()
    {
        Assert.Equal(Enumerable.Range(1, 9), Sections());
    }

    [Fact]
    public void References_ReadmeAndChoices_LinkDocsSemanticsAndNothingCitesTheOldPath()
    {
        Assert.Contains("(docs/semantics.md)", File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")), StringComparison.Ordinal);
        Assert.Contains("(semantics.md)", File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "semantics-choices.md")), StringComparison.Ordinal);

        var oldPath = string.Join('/', "spec", "semantics.md"); // spelled in parts, or this file would find itself
        var stale = SourceFiles().Where(f => File.ReadAllText(f).Contains(oldPath, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f)).ToList();
        Assert.True(stale.Count == 0, $"still citing {oldPath}: " + string.Join(", ", stale));
    }

    [Fact]
    public void ChoiceLinks_DocsSemantics_NameSectionsThatExistInTheChoicesDocument()
    {
        var choices = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "semantics-choices.md"))
            .Where(l => l.StartsWith("## ", StringComparison.Ordinal))
            .Select(l => Anchor(l[3..]))
            .ToHashSet(StringComparer.Ordinal);

        var missing = ChoiceLink().Matches(File.ReadAllText(Document)).Select(m => m.Groups[1].Value)
            .Where(a => !choices.Contains(a)).Distinct(StringComparer.Ordinal).ToList();

        Assert.True(missing.Count == 0, "semantics.md links sections missing from semantics-choices.md: " + string.Join(", ", missing));
    }

    private static List<int> Sections() =>
        File.ReadAllLines(Document)
            .Select(l => Heading().Match(l))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .ToList();

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(RepoPaths.Root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(RepoPaths.Root, f).Split(Path.DirectorySeparatorChar)
                .Any(part => part is "bin" or "obj" or ".git" or ".puffy" or "TestResults" or "BenchmarkDotNet.Artifacts"));

    // GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-'.
    private static string Anchor(string heading) =>
        new string(heading.Trim().ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');

    [GeneratedRegex(@"§\s*(\d+)")]
    private static partial Regex SectionReference();

    [GeneratedRegex(@"^## (\d+)\. ")]
    private static partial Regex Heading();

    [GeneratedRegex(@"\(semantics-choices\.md#([a-z0-9_-]+)\)")]
    private static partial Regex ChoiceLink();
}
