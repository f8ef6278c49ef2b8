import { useEffect, useRef } from 'react'
import { EditorState } from '@codemirror/state'
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter } from '@codemirror/view'
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands'
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from '@codemirror/language'
import { setDiagnostics, lintGutter } from '@codemirror/lint'
import { yaml } from '@codemirror/lang-yaml'

// diagnosticsFor turns messages into CodeMirror diagnostics: a message
// naming "line N" marks that line, any other the first line.
export function diagnosticsFor(doc, messages) {
  return messages.filter(Boolean).map((message) => {
    const m = /line (\d+)/.exec(message)
    const n = m ? Math.min(Math.max(1, Number(m[1])), doc.lines) : 1
    const line = doc.line(n)
    return { from: line.from, to: line.to, severity: 'error', message }
  })
}

const theme = EditorView.theme({
  '&': { height: '28rem', border: '1px solid #99a', backgroundColor: '#fff', fontSize: '.85rem' },
  '&.cm-focused': { outline: '2px solid #0b5cad' },
  '.cm-scroller': { overflow: 'auto', fontFamily: 'ui-monospace, monospace' },
})

// CodeEditor is a YAML editor (CodeMirror 6) with line numbers, syntax
// highlighting and error markers. It lives in a shadow root: there
// CodeMirror mounts its styles as constructable style sheets
// (adoptedStyleSheets) instead of inline <style> elements, which the
// console's strict Content-Security-Policy (style-src 'self') refuses.
// The view is kept on the host element (cmView) for tests that set the
// text as a paste would.
export default function CodeEditor({ id, label, value, onChange, errors }) {
  const ref = useRef(null)
  const viewRef = useRef(null)
  const onChangeRef = useRef(onChange)
  onChangeRef.current = onChange
  useEffect(() => {
    const host = ref.current
    const shadow = host.shadowRoot || host.attachShadow({ mode: 'open' })
    const mount = document.createElement('div')
    shadow.appendChild(mount)
    const view = new EditorView({
      parent: mount,
      root: shadow,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), history(), indentOnInput(), bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle), yaml(), lintGutter(), theme,
          EditorView.lineWrapping, // no horizontal scroll region (the text area scrolls with the cursor)
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.contentAttributes.of({ id, 'aria-label': label, spellcheck: 'false' }),
          EditorView.updateListener.of((u) => { if (u.docChanged) onChangeRef.current(u.state.doc.toString()) }),
        ],
      }),
    })
    viewRef.current = view
    host.cmView = view
    return () => { view.destroy(); mount.remove() }
  }, [])
  useEffect(() => {
    const view = viewRef.current
    if (view && view.state.doc.toString() !== value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } })
    }
  }, [value])
  useEffect(() => {
    const view = viewRef.current
    if (view) view.dispatch(setDiagnostics(view.state, diagnosticsFor(view.state.doc, errors || [])))
  }, [errors, value])
  return <div className="editor" ref={ref} data-editor={id} />
}
