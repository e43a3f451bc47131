using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fusion.Tests.Redis.Support;

/// <summary>The last lines a server wrote to stdout and stderr, kept for error messages.</summary>
internal sealed class ServerOutput
{
    private const int Lines = 100;
    private readonly ConcurrentQueue<string> lines = new();

    /// <summary>Starts collecting the output of <paramref name="process"/>, which must redirect both streams.</summary>
    public void Collect(Process process, string label)
    {
        process.OutputDataReceived += (_, e) => Add(label, e.Data);
        process.ErrorDataReceived += (_, e) => Add(label, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Whether any line so far contains <paramref name="text"/>.</summary>
    public bool Contains(string text) => lines.Any(line => line.Contains(text, StringComparison.Ordinal));

    /// <inheritdoc />
    public override string ToString() => lines.IsEmpty ? "(no output)" : string.Join(Environment.NewLine, lines);

    private void Add(string label, string? line)
    {
        if (line is null) return;
        lines.Enqueue($"[{label}] {line}");
        while (lines.Count > Lines) lines.TryDequeue(out _);
    }
}
