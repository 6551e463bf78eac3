// The admin web app's entry: mounts the shell. Built by Vite into external JS and CSS files (the server's CSP
// allows no inline script or style).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
