using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fusion.Tests.Docs;

/// <summary>
/// Every code block in the README and the how-to pages is code that compiles: each ```csharp block must be, line for
/// line (indentation aside), a region of a compiled C# test file, each ```fsharp block a region of a compiled F# test
/// file, and each ```json block must parse. A region runs from a line <c>// --- &lt;name&gt; ---</c> to <c>// --- end ---</c>.
/// A block edited in the docs and not in its test (or the other way round) fails here, naming the page and the block.
/// </summary>
public sealed partial class DocSnippetTests
{
    /// <summary>The pages whose code must compile: the README, and every page under docs/ but the design docs (whose
    /// blocks are formats and pseudo-code).</summary>
    private static readonly string[] DesignDocs = ["semantics.md", "architecture.md", "wire-format.md", "observability.md", "benchmarks.md"];

    public static TheoryData<string> Pages()
    {
        var root = Root();
        var pages = new TheoryData<string> { "README.md" };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (DesignDocs.Contains(Path.GetFileName(file))) continue;
            pages.Add(Path.GetRelativePath(root, file).Replace('\\', '/'));
        }
        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryCodeBlockOnThePage_IsCompiledCode(string page)
    {
        var root = Root();
        var regions = new Dictionary<string, HashSet<string>>
        {
            ["csharp"] = Regions(root, "*.cs"),
            ["fsharp"] = Regions(root, "*.fs"),
        };
        var problems = new List<string>();
        foreach (var (language, line, code) in Blocks(File.ReadAllText(Path.Combine(root, page))))
        {
            if (regions.TryGetValue(language, out var compiled))
            {
                if (!compiled.Contains(code))
                    problems.Add($"{page}:{line}: this {language} block is in no compiled test region (// --- name --- … // --- end ---):\n{code}");
            }
            else if (language == "json")
            {
                try { using var _ = JsonDocument.Parse(code, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }); }
                catch (JsonException e) { problems.Add($"{page}:{line}: this json block does not parse ({e.Message})"); }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public void TheChecker_FindsTheReadmeQuickStart()
    {
        var blocks = Blocks(File.ReadAllText(Path.Combine(Root(), "README.md"))).Where(b => b.Language == "csharp").ToList();

        Assert.Contains(blocks, b => b.Code.Contains("new FusionCacheBuilder()", StringComparison.Ordinal));
        Assert.Contains(Regions(Root(), "*.cs"), r => r.Contains("cache.GetOrSet(\"product:42\"", StringComparison.Ordinal));
    }

    /// <summary>The fenced blocks of a page: language, line number, normalized code.</summary>
    private static IEnumerable<(string Language, int Line, string Code)> Blocks(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success) continue;
            var start = i + 1;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++) body.Add(lines[i]);
            yield return (open.Groups[1].Value.ToLowerInvariant(), start, Normalize(body));
        }
    }

    /// <summary>Every marked region of the repository's source files with this pattern (bin and obj aside).</summary>
    private static HashSet<string> Regions(string root, string pattern)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in new[] { "tests", "property-tests", "samples" })
        {
            var path = Path.Combine(root, dir);
            if (!Directory.Exists(path)) continue;
            foreach (var file in Directory.EnumerateFiles(path, pattern, SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
                var lines = File.ReadAllLines(file);
                for (var i = 0; i < lines.Length; i++)
                {
                    var mark = Marker().Match(lines[i]);
                    if (!mark.Success || mark.Groups[1].Value == "end") continue;
                    var body = new List<string>();
                    for (i++; i < lines.Length && !IsEnd(lines[i]); i++) body.Add(lines[i]);
                    found.Add(Normalize(body));
                }
            }
        }
        return found;

        static bool IsEnd(string line) => Marker().Match(line) is { Success: true } m && m.Groups[1].Value == "end";
    }

    /// <summary>Trailing spaces, blank edges and the common indentation removed.</summary>
    private static string Normalize(List<string> lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).SkipWhile(l => l.Length == 0).Reverse().SkipWhile(l => l.Length == 0).Reverse().ToList();
        var indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", trimmed.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Fusion.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^```([A-Za-z#+-]+)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*// --- (.+?) ---\s*$")]
    private static partial Regex Marker();
}
