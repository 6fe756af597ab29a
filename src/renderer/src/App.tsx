export function App(): React.JSX.Element {
  return <h1>ShardScope</h1>
}
