/** The Caretaker console: reads config.json, signs the person in, and shows the page the hash names. */
import { render } from 'preact';
import { useErrorBoundary } from 'preact/hooks';
import { type ConsoleConfig, isLocalConsoleConfig } from '../../lib/client/console-config';
import { AuditPage } from './audit';
import { DriftPage } from './drift';
import { ModelPage, ModelsPage } from './models';
import { href, type Route, useRoute } from './router';
import { RunPage } from './run';
import { completeSignIn, currentSession, loadConfig, type Session, signIn, signInWithCognito, signOut } from './session';
import './style.css';
import { ErrorBox, person } from './ui';
import { VersionPage } from './version';

function App({ config, signInError }: { config: ConsoleConfig; signInError?: unknown }) {
  const route = useRoute();
  // A rendering error shows on the page instead of leaving it blank.
  const [renderError, resetError] = useErrorBoundary() as [unknown, () => void];
  let session: Session | undefined;
  try {
    session = currentSession(config);
  } catch (error) {
    return <Frame config={config}><ErrorBox error={error} title="Cannot sign in" /></Frame>;
  }
  if (renderError) {
    return (
      <Frame config={config} session={session}>
        <ErrorBox error={renderError} title="This page failed to render" />
        <button type="button" onClick={resetError}>Try again</button>
      </Frame>
    );
  }
  if (!session || route.page === 'signin') return <Frame config={config} session={session}><SignIn config={config} error={signInError} /></Frame>;
  return <Frame config={config} session={session}>{page(route, session, config)}</Frame>;
}

function page(route: Route, session: Session, config: ConsoleConfig) {
  const { client } = session;
  switch (route.page) {
    case 'models':
      return <ModelsPage client={client} />;
    case 'model':
      return <ModelPage client={client} model={route.model} />;
    case 'version':
      return <VersionPage client={client} model={route.model} version={route.version} />;
    case 'drift':
      return <DriftPage client={client} model={route.model} docsUrl={config.docsUrl} />;
    case 'run':
      return <RunPage client={client} runId={route.runId} />;
    case 'audit':
      return <AuditPage client={client} query={route} />;
    case 'signin':
      return null;
    case 'unknown':
      return <ErrorBox error={new Error(`there is no console page ${route.path || '/'}`)} title="Not found" />;
  }
}

function Frame({ config, session, children }: { config: ConsoleConfig; session?: Session; children: preact.ComponentChildren }) {
  return (
    <>
      <header>
        <a class="brand" href={href.models()}>Caretaker</a>
        <nav>
          <a href={href.models()}>Models</a>
          <a href={href.audit()}>Audit</a>
        </nav>
        <span class="who" data-testid="who">
          {session ? (
            <>
              {person(session.principal)} · {session.role}{' '}
              <a
                href={href.signin()}
                onClick={() => {
                  signOut(config);
                }}
              >
                {isLocalConsoleConfig(config) ? 'switch' : 'sign out'}
              </a>
            </>
          ) : (
            'not signed in'
          )}
        </span>
      </header>
      <main>{children}</main>
    </>
  );
}

function SignIn({ config, error }: { config: ConsoleConfig; error?: unknown }) {
  if (!isLocalConsoleConfig(config)) {
    return (
      <section class="card signin">
        <h1>Sign in</h1>
        {error ? <ErrorBox error={error} title="Sign-in failed" /> : null}
        <p class="muted">With your Caretaker account (the team's user pool, or your company's sign-in). Your group decides what you may do: readers read, approvers approve.</p>
        <button
          type="button"
          data-testid="signin-cognito"
          onClick={() => {
            void signInWithCognito(config);
          }}
        >
          Sign in
        </button>
      </section>
    );
  }
  return (
    <section class="card signin">
      <h1>Sign in as</h1>
      <p class="muted">Local mode: pick a sample person. The API takes the caller from the X-Caretaker-Principal header, as it takes API Gateway's IAM identity in AWS.</p>
      <ul>
        {config.localPrincipals.map((p) => (
          <li key={p.principal}>
            <button
              type="button"
              data-testid={`signin-${p.role}`}
              onClick={() => {
                signIn(p.principal);
                location.hash = href.models();
                location.reload();
              }}
            >
              {p.label}
            </button>{' '}
            <code class="muted">{p.principal}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

const root = document.getElementById('app');
if (root) {
  // Preact renders next to what is there: drop the static "Loading…" line first.
  root.textContent = '';
  loadConfig().then(
    async (config) => {
      // Back from the hosted UI: redeem the code before the first render.
      let signInError: unknown;
      await completeSignIn(config).catch((error: unknown) => {
        signInError = error;
      });
      render(<App config={config} signInError={signInError} />, root);
    },
    (error: unknown) => render(<main><ErrorBox error={error} title="The console could not load its configuration" /></main>, root),
  );
}
